import type { LayerDef } from '../src/engine/architectures.ts';

/**
 * Whether some path from the input still reaches the output, layer by layer: no weighted
 * layer on it kept empty. A residual block passes where its body or its shortcut does (an
 * identity shortcut always does). `kept` counts the weights a layer's kernel keeps
 * (`<layer>.kernel`, as masks and tickets name them), undefined where it is not pruned.
 * Tanaka et al. 2020 call a mask that fails this one that has collapsed.
 */
export function inputReachesOutput(
  layers: LayerDef[],
  kept: (kernel: string) => number | undefined,
): boolean {
  return layers.every((l) => {
    if (l.kind === 'residual')
      return (
        inputReachesOutput(l.body, kept) ||
        l.shortcut.length === 0 ||
        inputReachesOutput(l.shortcut, kept)
      );
    if (l.kind !== 'dense' && l.kind !== 'conv2d') return true;
    const count = kept(`${l.name}.kernel`);
    return count === undefined || count > 0;
  });
}
