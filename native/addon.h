/* The N-API module's pieces: blas.c defines the module and its kernels, trainer.c the trainer. */
#ifndef TICKETLAB_ADDON_H
#define TICKETLAB_ADDON_H

#include <node_api.h>

/* The version of the functions this module exports, as exports.interfaceVersion. Bumped
   whenever one's arguments or results change, or one is added: src/engine/native-blas.ts
   refuses a build of another version (an addon built before a `git pull`) rather than call
   it wrongly or miss it. */
#define TICKETLAB_ADDON_INTERFACE 4

/* exports[name] = fn */
void export_function(napi_env env, napi_value exports, const char *name, napi_callback fn);

/* trainer.c's createTrainer, trainStep, trainerEvaluate, freeTrainer and trainerProfile. */
void register_trainer(napi_env env, napi_value exports);

#endif
