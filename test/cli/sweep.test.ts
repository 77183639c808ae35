import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir, writeSpec } from '../helpers.ts';

/** The CLI, awaited without blocking this test's process (a sweep trains for a while). */
function cli(args: string[], dataDir: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args, '--data-dir', dataDir],
      { env: { ...process.env, TICKETLAB_BACKEND: 'wasm' } },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error.code as number | undefined) ?? 1) : 0, stdout, stderr }),
    );
  });
}

const SWEEP = {
  name: 'seeds',
  base: {
    model: 'lenet-300-100',
    training: { duration: '10it', evalEvery: 10 },
    pruning: { levels: 0 },
  },
  axes: { seed: [1, 2] },
};

describe('ticketlab sweep', async () => {
  it('prices a sweep on --dry-run storing nothing, runs it, lists it, and trains nothing on a second run', async () => {
    const data = tempDir();
    const path = writeSpec(data, SWEEP);
    const dry = await cli(['sweep', path, '--dry-run'], data);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /Sweep of 2 experiments \(0 already stored\): 2 trainings, 2 left\./,
    );
    // counted as the runners train them: exact, no Early-Bird search to stop sooner
    expect(dry.stdout).toMatch(/^Training iterations: 20 left of 20\.$/m);
    expect(dry.stdout).toMatch(/seed=1/);
    expect(dry.stdout).toMatch(/Dry run: nothing was stored or started\./);
    expect(JSON.parse((await cli(['sweeps', '--json'], data)).stdout)).toEqual([]);

    const run = await cli(['sweep', path], data);
    expect(run.stderr).not.toMatch(/ticketlab:/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/on local/);
    expect(run.stdout).toMatch(/2\/2 trainings stored; 2 done\./);
    const [sweep] = JSON.parse((await cli(['sweeps', '--json'], data)).stdout);
    expect(sweep).toMatchObject({ name: 'seeds', progress: 1, runs: 2, runsDone: 2 });
    expect(sweep.experiments.map((e: { point: unknown }) => e.point)).toEqual([
      { seed: 1 },
      { seed: 2 },
    ]);

    const again = await cli(['sweep', path], data);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/\(2 already stored\): 2 trainings, 0 left/);
    expect(again.stdout).toMatch(/Every experiment of it is done/);
  });

  it('keeps the data folder compute target, refusing an invalid one with the field named', async () => {
    const data = tempDir();
    expect(JSON.parse((await cli(['target'], data)).stdout)).toEqual({ kind: 'local' });
    const target = writeSpec(data, {
      kind: 'slurm',
      partition: 'gpu',
      gpus: 2,
      timeLimit: '4:00:00',
    });
    expect(JSON.parse((await cli(['target', target], data)).stdout)).toMatchObject({
      kind: 'slurm',
      partition: 'gpu',
      gpus: 2,
      cpusPerTask: 1,
    });
    expect(JSON.parse((await cli(['target'], data)).stdout)).toMatchObject({ partition: 'gpu' });
    const bad = writeSpec(data, { kind: 'slurm', memory: 'lots' });
    const refused = await cli(['target', bad], data);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/computeTarget\.memory: expected memory such as "4000M"/);
  });
});
