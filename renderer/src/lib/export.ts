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
