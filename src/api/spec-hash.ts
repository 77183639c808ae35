import { sha256Hex } from '../core/hash.ts';
import { canonicalSpec, type ResolvedSpec } from './spec.ts';

/**
 * An experiment's identity: the sha256 of its canonical spec. Apart from spec.ts because
 * it needs Node's crypto and the renderer imports spec.ts to validate forms.
 */
export function specHash(spec: ResolvedSpec): string {
  return sha256Hex(canonicalSpec(spec));
}
