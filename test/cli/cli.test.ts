import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSpec } from '../../src/api/spec.ts';
import { buildArchitecture, describeParams } from '../../src/engine/architectures.ts';
import { initWeights } from '../../src/engine/weights.ts';
import { pruneLevel, sizeOf, type ImpConfig } from '../../src/pruning/imp.ts';
import { denseMask } from '../../src/pruning/mask.ts';
import { BIN, ROOT, cli, tempDir, writeSpec } from '../helpers.ts';

const TINY = {
  model: 'lenet-300-100',
  preset: 'frankle-carbin-2019',
  training: { duration: '30it', evalEvery: 10 },
  pruning: { levels: 2 },
  controls: { randomReinit: true },
};

describe('ticketlab CLI', () => {
  it('runs an experiment, stores every level, and lists/shows it as JSON', () => {
    const data = tempDir();
    const run = cli(['run', writeSpec(data, TINY)], data);
    expect(run.stderr).not.toMatch(/ticketlab:/);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/Compute worker ready: wasm/);
    expect(run.stdout).toMatch(/^\s+0\s+dense\s+100\.0%\s+\d+\.\d\d%\s+\d+/m);
    expect(run.stdout).toMatch(/^\s+2\s+imp\s+64\.1%/m);
    expect(run.stdout).toContain(join(data, 'ticketlab.db'));

    const ls = JSON.parse(cli(['ls', '--json'], data).stdout);
    expect(ls).toHaveLength(1);
    expect(ls[0]).toMatchObject({ status: 'done', model: 'lenet-300-100', levels: 3 });

    const show = JSON.parse(cli(['show', ls[0].id, '--json'], data).stdout);
    expect(
      show.tickets.map((t: { level: number; method: string }) => `${t.level}/${t.method}`),
    ).toEqual(['0/dense', '1/imp', '1/random-reinit', '2/imp', '2/random-reinit']);
    const [dense, imp1, , imp2] = show.tickets;
    // the list shows the fewest weights reached and the accuracy there
    expect(ls[0].minRemainingWeights).toBe(imp2.remainingWeights);
    expect(ls[0].accuracyAtMinRemaining).toBe(imp2.testAccuracy);
    for (const t of show.tickets) {
      expect(Object.keys(t)).toEqual(
        expect.arrayContaining([
          'id',
          'parentId',
          'level',
          'remainingWeights',
          'testAccuracy',
          'earlyStopIteration',
          'remainingWeightsPerLayer',
        ]),
      );
      expect(t.testAccuracy).toBeGreaterThan(0);
      expect(t.testAccuracy).toBeLessThanOrEqual(1);
    }
    expect(dense.parentId).toBeNull();
    expect(imp1.parentId).toBe(dense.id);
    expect(imp2.parentId).toBe(imp1.id);
    expect(show.tickets[2].parentId).toBe(imp1.id);
    expect(dense.remainingWeights).toBe(1);
    expect(imp2.remainingWeights).toBeLessThan(imp1.remainingWeights);
    expect(imp1.remainingWeightsPerLayer[0]).toMatchObject({
      layer: 'fc1.kernel',
      total: 235200,
      kept: 188160,
      remaining: 0.8,
    });
    for (const t of show.tickets)
      expect(t).toMatchObject({
        trained: true,
        backend: 'wasm',
        runId: expect.stringMatching(/^run_/),
      });

    // The same spec again finds the stored experiment instead of starting a duplicate.
    const again = cli(['run', writeSpec(data, TINY)], data);
    expect(again.stdout).toMatch(/already done/);
    expect(JSON.parse(cli(['ls', '--json'], data).stdout)).toHaveLength(1);
  });

  it('runs one-shot pruning after training as a job: the dense network, then one ticket per compression', () => {
    const data = tempDir();
    const spec = {
      model: 'lenet-300-100',
      method: 'oneshot',
      training: { duration: '20it', evalEvery: 10 },
      oneshot: { compressions: [1] },
    };
    const run = cli(['run', writeSpec(data, spec)], data);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/lenet-300-100 one-shot on builtin:mnist/);
    const [experiment] = JSON.parse(cli(['ls', '--json'], data).stdout);
    const show = JSON.parse(cli(['show', experiment.id, '--json'], data).stdout);
    expect(
      show.tickets.map((t: { level: number; method: string }) => `${t.level}/${t.method}`),
    ).toEqual(['0/dense', '1/oneshot']);
    expect(show.tickets[1].remainingWeights).toBeCloseTo(0.1, 4);
    expect(show.tickets[1].parentId).toBe(show.tickets[0].id);
  });

  it('rejects an invalid spec, naming the field and the allowed values, and stores nothing', () => {
    const data = tempDir();
    const r = cli(
      ['run', writeSpec(data, { model: 'lenet-300-100', training: { optimiser: 'adam' } })],
      data,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /\[INVALID_SPEC\][\s\S]*spec\.training\.optimiser: unknown field \(did you mean "optimizer"\?\)/,
    );
    expect(JSON.parse(cli(['ls', '--json'], data).stdout)).toEqual([]);
  });

  it('pauses on Ctrl-C with a checkpoint; `ticketlab resume` and `run` continue it', async () => {
    const data = tempDir();
    const spec = writeSpec(data, {
      ...TINY,
      training: { duration: '300it', evalEvery: 100 },
      pruning: { levels: 2 },
      controls: {},
    });
    // Its own process group, so that Ctrl-C can be sent as a terminal sends it: to the group.
    const child = spawn(process.execPath, [BIN, 'run', spec, '--data-dir', data], {
      env: { ...process.env, TICKETLAB_BACKEND: 'wasm' },
      detached: true,
    });
    let stdout = '';
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    await new Promise<void>((ready) =>
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/^\s+0\s+dense/m.test(stdout)) ready();
      }),
    );
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(130);
    const paused = /Paused job (job_\w+)/.exec(stdout);
    expect(paused).not.toBeNull();
    expect(stdout).toMatch(/Continue with: ticketlab resume job_/);
    const [experiment] = JSON.parse(cli(['ls', '--json'], data).stdout);
    expect(experiment.status).toBe('paused');
    const jobs = JSON.parse(cli(['jobs', '--json'], data).stdout);
    expect(jobs).toMatchObject([{ id: paused![1], state: 'paused' }]);

    const resumed = cli(['resume', paused![1]!], data);
    expect(resumed.code).toBe(0);
    const final = JSON.parse(cli(['show', experiment.id, '--json'], data).stdout);
    expect(final.status).toBe('done');
    expect(final.tickets.map((t: { level: number }) => t.level)).toEqual([0, 1, 2]);
    expect(cli(['run', spec], data).stdout).toMatch(/already done/);
  });

  it('prints usage and fails on an unknown command', () => {
    const data = tempDir();
    expect(cli(['frobnicate'], data)).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /Unknown command "frobnicate"[\s\S]*ticketlab run <spec\.json>/,
      ),
    });
  });

  it('refuses a mistyped option, or one its command does not take, before it runs anything', () => {
    const data = tempDir();
    expect(
      cli(['run', 'examples/quickstart.json', '--concurency', '2', '--jsn'], data),
    ).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^Unknown options --concurency, --jsn\.[\s\S]*ticketlab run/),
    });
    // an option of another command is refused too: `ls` does not overwrite anything
    expect(cli(['ls', '--force', '--json'], data)).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /^`ticketlab ls` does not take --force \(it takes --json, --data-dir\)\./,
      ),
    });
    expect(cli(['run', 'examples/quickstart.json', '--port', '1', '--nope'], data)).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /^Unknown option --nope\. `ticketlab run` does not take --port \(it takes --new-replicate, --data-dir\)\./,
      ),
    });
    // nothing was stored: `ls` (its --json its own flag) lists no experiment
    const listed = cli(['ls', '--json'], data);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });
});

describe('examples/quickstart.json', () => {
  it('is a valid LeNet-300-100 IMP spec on the built-in MNIST that goes below 20% remaining weights', () => {
    const spec = resolveSpec(
      JSON.parse(
        spawnSync('cat', [join(ROOT, 'examples', 'quickstart.json')], { encoding: 'utf8' }).stdout,
      ),
    );
    expect(spec).toMatchObject({ model: 'lenet-300-100', dataset: 'builtin:mnist', method: 'imp' });
    expect(spec.pruning.rewind).toBe('0it');
    const specs = describeParams(buildArchitecture('lenet-300-100', [28, 28, 1], 10));
    const weights = initWeights(specs, 'glorot-normal', 0);
    let mask = denseMask(specs);
    for (let l = 0; l < spec.pruning.levels; l++)
      mask = pruneLevel({ ...spec.pruning } as unknown as ImpConfig, specs, weights, mask);
    expect(sizeOf(specs, mask).remainingFraction).toBeLessThan(0.2);
  });
});
