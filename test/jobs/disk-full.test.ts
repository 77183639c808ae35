import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Lab } from '../../src/services/lab.ts';
import { canMountTmpfs, fillDisk, mountTmpfs, tempDir, unmount } from '../helpers.ts';
import { expectCompleteExperiment, SMALL_SPEC, waitForEvent } from './fixtures.ts';

// A real full disk: a small tmpfs, filled to the last byte (skipped where mounting is refused).
const canMount = canMountTmpfs();

const EXPECTED = { runs: ['0/dense', '1/imp', '2/imp'], iterations: 300, evalEvery: 50 };

describe.skipIf(!canMount)('a full disk pauses the job instead of crashing the host', () => {
  it('the database disk: SQLITE_FULL while storing a worker report pauses with the free space and the folder; it resumes once space is back', async () => {
    const dataDir = tempDir();
    expect(mountTmpfs(dataDir, '32m')).toBe(true);
    // Only the database on the small disk: the blobs live elsewhere.
    symlinkSync(tempDir(), join(dataDir, 'blobs'));
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      const { experiment, job } = await lab.invoke('experiments.create', {
        spec: SMALL_SPEC,
        start: true,
      });
      await waitForEvent(lab, (e) => e.type === 'ticket.created' && e.level === 0);
      const filler = fillDisk(dataDir);
      // The host's next write (progress, the next level's ticket or its metrics) fails.
      const paused = await lab.scheduler.wait(job!.id);
      expect(paused.state).toBe('paused');
      expect(paused.error).toBe(`disk full: 0 MB free in ${dataDir}; free space and resume`);

      rmSync(filler);
      await lab.invoke('jobs.resume', { jobId: job!.id });
      const done = await lab.scheduler.wait(job!.id);
      expect(done.state).toBe('done');
      expect(lab.store.getJob(job!.id)).toMatchObject({ state: 'done', error: null });
      expectCompleteExperiment(dataDir, experiment.id, EXPECTED);
    } finally {
      await lab.close();
      unmount(dataDir);
    }
  });

  it('the blob folder: ENOSPC in the worker pauses with the free space and the folder, leaves no temp files, and resumes once space is back', async () => {
    const dataDir = tempDir();
    const blobs = join(dataDir, 'blobs');
    mkdirSync(blobs);
    expect(mountTmpfs(blobs, '48m')).toBe(true);
    const lab = Lab.open({ dataDir, runAll: true });
    try {
      const { experiment, job } = await lab.invoke('experiments.create', {
        spec: SMALL_SPEC,
        start: true,
      });
      await waitForEvent(lab, (e) => e.type === 'ticket.created' && e.level === 0);
      const filler = fillDisk(blobs);
      // The worker's next blob (a checkpoint, or a ticket's weights) cannot be written.
      const paused = await lab.scheduler.wait(job!.id);
      expect(paused.state).toBe('paused');
      expect(paused.error).toBe(`disk full: 0 MB free in ${blobs}; free space and resume`);
      expect(lab.store.getJob(job!.id)).toMatchObject({ state: 'paused', error: paused.error });
      expect((await lab.invoke('experiments.get', { id: experiment.id })).status).toBe('paused');
      expect(readdirSync(blobs).filter((f) => f.startsWith('.tmp'))).toEqual([]);

      rmSync(filler);
      await lab.invoke('jobs.resume', { jobId: job!.id });
      expect((await lab.scheduler.wait(job!.id)).state).toBe('done');
      expectCompleteExperiment(dataDir, experiment.id, EXPECTED);
      expect(readdirSync(blobs).filter((f) => f.startsWith('.tmp'))).toEqual([]);
    } finally {
      await lab.close();
      unmount(blobs);
    }
  });
});
