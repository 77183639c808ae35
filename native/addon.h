/* The N-API module's pieces: blas.c defines the module and its kernels, trainer.c the trainer. */
#ifndef TICKETLAB_ADDON_H
#define TICKETLAB_ADDON_H

#include <node_api.h>

/* exports[name] = fn */
void export_function(napi_env env, napi_value exports, const char *name, napi_callback fn);

/* trainer.c's createTrainer, trainStep, freeTrainer and trainerProfile. */
void register_trainer(napi_env env, napi_value exports);

#endif
