import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir, writeSpec } from '../helpers.ts';

/**
 * `cli` with a limit: a spec that should be refused but is accepted would train for ever,
 * and this test should fail then rather than hang (the worker exits with its host).
 */
function cli(args: string[], dataDir: string) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--data-dir', dataDir], {
    encoding: 'utf8',
    env: { ...process.env, TICKETLAB_BACKEND: 'wasm' },
    timeout: 180_000,
    killSignal: 'SIGKILL',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TINY = {
  model: 'lenet-300-100',
  training: { duration: '10it', evalEvery: 10 },
  pruning: { levels: 0 },
};

describe('ticketlab run: spec files and refusals', () => {
  it('accepts a spec file that starts with a UTF-8 byte order mark', () => {
    const data = tempDir();
    const path = join(data, 'bom.json');
    // as Notepad and PowerShell write UTF-8: EF BB BF, then the JSON
    writeFileSync(
      path,
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(TINY))]),
    );
    const run = cli(['run', path], data);
    expect(run.stderr).not.toMatch(/ticketlab:/);
    expect(run.code).toBe(0);
    expect(JSON.parse(cli(['ls', '--json'], data).stdout)).toMatchObject([{ status: 'done' }]);
  });

  it('refuses a validation fraction that leaves no training examples, up front, naming the sizes', () => {
    const data = tempDir();
    const run = cli(['run', writeSpec(data, { ...TINY, validationFraction: 0.99999 })], data);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /\[INVALID_SPEC\] Invalid spec:\nspec\.validationFraction: 0\.99999 of the 8000 training examples .* leaves 0 to train on/,
    );
    expect(run.stderr).not.toMatch(/INTERNAL/);
    expect(JSON.parse(cli(['ls', '--json'], data).stdout)).toEqual([]);
  });

  it('refuses a huge duration, naming the field and the bound', () => {
    const data = tempDir();
    const run = cli(
      ['run', writeSpec(data, { ...TINY, training: { duration: '99999999999999999999999ep' } })],
      data,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /\[INVALID_SPEC\][\s\S]*spec\.training\.duration: "99999999999999999999999ep" is too long: a duration may be at most 1000000000 iterations/,
    );
  });

  it('says which hyper-parameter most likely made the loss diverge', () => {
    const data = tempDir();
    const run = cli(
      [
        'run',
        writeSpec(data, {
          ...TINY,
          training: { optimizer: 'sgd', learningRate: 3, momentum: 0.9, duration: '200it' },
        }),
      ],
      data,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /TRAINING_DIVERGED: Training diverged at iteration \d+: the loss is (NaN|Infinity)\. Likely cause: the learning rate 3 is high for sgd with momentum 0\.9; try spec\.training\.learningRate ≤ 0\.1\./,
    );
  });
});
