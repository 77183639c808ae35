import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectCompleteExperiment } from '../jobs/fixtures.ts';
import { BIN, cli, tempDir, writeSpec } from '../helpers.ts';

const SPEC = {
  model: 'lenet-300-100',
  preset: 'frankle-carbin-2019',
  training: { duration: '300it', evalEvery: 100 },
  pruning: { levels: 2 },
};

interface JobRowRaw {
  id: string;
  experiment_id: string;
  state: string;
  attempt: number;
}

function jobRows(dataDir: string): JobRowRaw[] {
  const db = new Database(join(dataDir, 'ticketlab.db'), { readonly: true });
  try {
    return db.prepare('SELECT id, experiment_id, state, attempt FROM jobs').all() as JobRowRaw[];
  } finally {
    db.close();
  }
}

describe('a job belongs to the live process that runs it', () => {
  it('a stopped owner keeps its job whatever its heartbeat says: `jobs` changes nothing, `resume` and `run` refuse; once it is killed the job resumes', async () => {
    const data = tempDir();
    const spec = writeSpec(data, SPEC);
    // Its own process group, so that the host and its compute worker stop and die together.
    const owner = spawn(process.execPath, [BIN, 'run', spec, '--data-dir', data], {
      env: { ...process.env, TICKETLAB_BACKEND: 'wasm' },
      detached: true,
    });
    const exited = new Promise<void>((done) => owner.on('exit', () => done()));
    try {
      let stdout = '';
      await new Promise<void>((ready) =>
        owner.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (/^\s+0\s+dense/m.test(stdout)) ready();
        }),
      );
      // Level 0 is stored and levels 1 and 2 are still to train: stop the owner there.
      process.kill(-owner.pid!, 'SIGSTOP');
      // A host stopped for an hour leaves a heartbeat an hour old.
      const db = new Database(join(data, 'ticketlab.db'), { timeout: 10_000 });
      db.prepare('UPDATE jobs SET heartbeat_at = ?').run(
        new Date(Date.now() - 3600_000).toISOString(),
      );
      db.close();
      const [job] = jobRows(data);
      expect(job).toMatchObject({ state: 'running', attempt: 1 });

      const listed = cli(['jobs', '--json'], data);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toMatchObject([{ id: job!.id, state: 'running' }]);

      const resume = cli(['resume', job!.id], data);
      expect(resume.code).not.toBe(0);
      expect(resume.stderr).toMatch(
        /\[JOB_RUNNING_ELSEWHERE\] Job job_\w+ .* is running in another live process \(.+:\d+\)/,
      );
      const rerun = cli(['run', spec], data);
      expect(rerun.code).not.toBe(0);
      expect(rerun.stderr).toMatch(
        new RegExp(`\\[JOB_RUNNING_ELSEWHERE\\] .*experiment ${job!.experiment_id}`),
      );
      expect(jobRows(data)).toEqual([job]); // untouched: still running, still its first attempt

      process.kill(-owner.pid!, 'SIGKILL');
      await exited;
      // The listing says the owner is gone, and still changes nothing.
      expect(cli(['jobs'], data).stdout).toMatch(/running \(its process is gone: resume it\)/);
      expect(jobRows(data)).toEqual([job]);
      const resumed = cli(['resume', job!.id], data);
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(/Done: \d+ tickets trained/);
      expect(jobRows(data)).toMatchObject([{ id: job!.id, state: 'done', attempt: 2 }]);
      expectCompleteExperiment(data, job!.experiment_id, {
        runs: ['0/dense', '1/imp', '2/imp'],
        iterations: 300,
        evalEvery: 100,
      });
    } finally {
      try {
        process.kill(-owner.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
});
