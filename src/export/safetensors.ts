import { encodeBundle, type TensorBundle } from '../core/tensorfile.ts';
import type { ExportModel } from './model.ts';
import { lowerArchitecture, toTorchParams, type TorchArchitecture } from './torch-layout.ts';

/**
 * safetensors export in PyTorch's conventions. Prunable kernels are stored the way
 * `torch.nn.utils.prune` keeps them in a state dict (`<layer>.weight_orig` and
 * `<layer>.weight_mask`, weight = orig × mask), everything else under its usual name; an
 * input selection's features as the int32 tensor `<layer>.indices` (C×H×W order).
 * The architecture description rides in the file's metadata (`ticketlab.architecture`)
 * and is also written beside it as JSON.
 */
export const ARCHITECTURE_METADATA_KEY = 'ticketlab.architecture';

export function toSafetensors(
  model: ExportModel,
  metadata: Record<string, string>,
): { bytes: Buffer; architecture: TorchArchitecture } {
  const architecture = lowerArchitecture(model.arch, model.normalisation).description;
  const params = toTorchParams(model);
  const bundle: TensorBundle = new Map();
  for (const [name, t] of params.weights) {
    const pruned = params.masks.has(name);
    bundle.set(pruned ? `${name}_orig` : name, { dtype: 'F32', shape: t.shape, data: t.data });
  }
  for (const [name, t] of params.masks)
    bundle.set(`${name}_mask`, { dtype: 'F32', shape: t.shape, data: t.data });
  for (const [name, data] of params.indices)
    bundle.set(name, { dtype: 'I32', shape: [data.length], data });
  const bytes = encodeBundle(bundle, {
    format: 'pt',
    ...metadata,
    [ARCHITECTURE_METADATA_KEY]: JSON.stringify(architecture),
  });
  return { bytes, architecture };
}
