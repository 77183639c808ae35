import type { MethodName } from '../../core/vocabulary.ts';
import { impRunner } from './imp.ts';
import { oneshotRunner } from './oneshot.ts';
import { paiRunner } from './pai.ts';
import type { MethodRunner } from './runner.ts';
import { structuredRunner } from './structured.ts';
import { transferRunner } from './transfer.ts';

/** Each experiment method's runner, one line each (README: "Adding a pruning method"). */
export const METHOD_RUNNERS: Record<MethodName, MethodRunner> = {
  imp: impRunner,
  oneshot: oneshotRunner,
  pai: paiRunner,
  transfer: transferRunner,
  structured: structuredRunner,
};
