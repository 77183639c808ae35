import {
  decodeBundle,
  decodeMetadata,
  encodeBundle,
  type TensorBundle,
} from '../core/tensorfile.ts';
import type { Weights } from '../engine/weights.ts';
import type { TrainCheckpoint } from '../engine/train.ts';

/**
 * A training checkpoint as one safetensors file: weights under `weights/`, optimiser
 * slots under `optimizer/`, rewind weights under `captured/`, the rest as JSON metadata.
 */
function put(bundle: TensorBundle, prefix: string, weights: Map<string, Float32Array>) {
  for (const [name, data] of weights)
    bundle.set(`${prefix}/${name}`, { dtype: 'F32', shape: [data.length], data });
}

function take(bundle: TensorBundle, prefix: string): Weights {
  const out: Weights = new Map();
  for (const [name, t] of bundle) {
    if (name.startsWith(prefix + '/') && t.dtype === 'F32')
      out.set(name.slice(prefix.length + 1), t.data);
  }
  return out;
}

export function encodeCheckpoint(c: TrainCheckpoint): Buffer {
  const bundle: TensorBundle = new Map();
  put(bundle, 'weights', c.weights);
  put(bundle, 'optimizer', c.optimizer.slots);
  if (c.captured) put(bundle, 'captured', c.captured);
  const meta = {
    iteration: c.iteration,
    optimizerStep: c.optimizer.step,
    evals: c.evals,
    lossSinceEval: c.lossSinceEval,
    stepsSinceEval: c.stepsSinceEval,
    captured: c.captured !== null,
    elapsedMs: c.elapsedMs,
    state: c.state,
  };
  return encodeBundle(bundle, { ticketlab: JSON.stringify(meta) });
}

export function decodeCheckpoint(bytes: Uint8Array, what: string): TrainCheckpoint {
  const bundle = decodeBundle(bytes, what);
  const meta = JSON.parse(decodeMetadata(bytes).ticketlab ?? '{}');
  return {
    iteration: meta.iteration,
    weights: take(bundle, 'weights'),
    optimizer: { step: meta.optimizerStep, slots: take(bundle, 'optimizer') },
    evals: meta.evals,
    lossSinceEval: meta.lossSinceEval,
    stepsSinceEval: meta.stepsSinceEval,
    captured: meta.captured ? take(bundle, 'captured') : null,
    elapsedMs: meta.elapsedMs,
    state: meta.state,
  };
}
