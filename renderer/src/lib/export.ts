import type { Client } from '../../../src/api/client.ts';
import { download } from './format.ts';

/** Saves the offline report of these experiments (one self-contained HTML file). */
export async function downloadReport(client: Client, ids: string[]): Promise<void> {
  const { fileName, html } = await client.call('experiments.report', { ids });
  download(fileName, html, 'text/html');
}
