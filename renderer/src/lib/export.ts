import type { Client } from '../../../src/api/client.ts';
import { download } from './format.ts';

/**
 * Runs an export that refuses to overwrite; when a file exists, asks, and on a yes runs it
 * again with `force`. A no leaves the refusal (FILE_EXISTS, naming the files) to be shown.
 */
export async function exportAskingToOverwrite<R>(run: (force: boolean) => Promise<R>): Promise<R> {
  try {
    return await run(false);
  } catch (e) {
    const exists = (e as { code?: string }).code === 'FILE_EXISTS';
    if (!exists || !confirm(`${(e as Error).message}\n\nOverwrite?`)) throw e;
    return run(true);
  }
}

/** Saves the offline report of these experiments (one self-contained HTML file). */
export async function downloadReport(client: Client, ids: string[]): Promise<void> {
  const { fileName, html } = await client.call('experiments.report', { ids });
  download(fileName, html, 'text/html');
}
