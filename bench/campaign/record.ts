import { join } from 'node:path';
import type { Machine, Versions } from '../records.ts';

/** One finished experiment of a campaign part, as bench:campaign writes it. */
export interface CampaignRecord {
  part: string;
  label: string;
  seed: number;
  specHash: string;
  /** the resolved spec the experiment ran (its identity is specHash) */
  spec: Record<string, unknown>;
  dataset: { id: string; folder: string; train: number; test: number };
  tickets: TicketRecord[];
  machine: Machine;
  versions: Versions;
  date: string;
  command: string;
}

export interface TicketRecord {
  level: number;
  method: string;
  remainingWeights: number;
  /** at the early-stopping iteration (minimum validation loss) */
  testAccuracy: number | null;
  finalTestAccuracy: number | null;
  earlyStopIteration: number | null;
  wallTimeMs: number | null;
  backend: string | null;
}

export function campaignRecordPath(
  records: string,
  part: string,
  label: string,
  seed: number,
  hash: string,
): string {
  return join(records, part, `${label}-seed${seed}-${hash.slice(0, 12)}.json`);
}
