import * as tfl from '@tensorflow/tfjs';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBuiltinMnist } from '../../src/data/builtin.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { Store } from '../../src/store/store.ts';
import { cli, tempDir, writeSpec } from '../helpers.ts';

beforeAll(async () => {
  await tfl.setBackend('cpu');
});

const argmax = (row: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
};

describe('ticketlab export on a trained ticket', () => {
  it('writes ONNX, TF.js and safetensors models and CSV/JSON/lineage results, recorded with checksums', async () => {
    const data = tempDir();
    const spec = {
      model: 'lenet-300-100',
      preset: 'frankle-carbin-2019',
      training: { duration: '60it', evalEvery: 30 },
      pruning: { levels: 1 },
    };
    expect(cli(['run', writeSpec(data, spec)], data).code).toBe(0);
    const [experiment] = JSON.parse(cli(['ls', '--json'], data).stdout);
    const show = JSON.parse(cli(['show', experiment.id, '--json'], data).stdout);
    const ticket = show.tickets.find((t: { method: string }) => t.method === 'imp');
    expect(ticket.remainingWeights).toBeLessThan(0.85);

    // ONNX: run by onnxruntime on the dataset's test split, it scores what the app recorded.
    const onnxPath = join(data, 'out', 'ticket.onnx');
    const exported = cli(['export', ticket.id, '--format', 'onnx', '--out', onnxPath], data);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    const onnxBytes = readFileSync(onnxPath);
    expect(exported.stdout).toContain(`sha256 ${sha256Hex(onnxBytes)}`);
    const mnist = loadBuiltinMnist();
    const n = mnist.test.count;
    const pixels = Float32Array.from(mnist.test.images, (v) => v / 255);
    const session = await InferenceSession.create(onnxBytes);
    const { logits } = await session.run({
      input: new Tensor('float32', pixels, [n, 1, 28, 28]),
    });
    const onnxLogits = logits!.data as Float32Array;
    let correct = 0;
    for (let i = 0; i < n; i++)
      if (argmax(onnxLogits.subarray(i * 10, i * 10 + 10)) === mnist.test.labels[i]) correct++;
    expect(Math.abs(correct / n - ticket.finalTestAccuracy)).toBeLessThanOrEqual(1 / n);
    await session.release();

    // An existing file is never overwritten without --force.
    const again = cli(['export', ticket.id, '--format', 'onnx', '--out', onnxPath], data);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/Not overwriting .*ticket\.onnx.*--force/);
    writeFileSync(onnxPath, 'keep me');
    expect(
      cli(['export', ticket.id, '--format', 'tfjs', '--out', join(data, 'tfjs')], data).code,
    ).toBe(0);
    expect(readFileSync(onnxPath, 'utf8')).toBe('keep me');
    expect(
      cli(['export', ticket.id, '--format', 'onnx', '--out', onnxPath, '--force'], data).code,
    ).toBe(0);
    expect(readFileSync(onnxPath).equals(onnxBytes)).toBe(true);

    // TF.js: the files on disk load with tf.loadLayersModel and predict as ONNX does.
    const modelJson = JSON.parse(readFileSync(join(data, 'tfjs', 'model.json'), 'utf8'));
    const weightData = readFileSync(join(data, 'tfjs', 'weights.bin'));
    const model = await tfl.loadLayersModel(
      tfl.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0].weights,
        weightData: weightData.buffer.slice(
          weightData.byteOffset,
          weightData.byteOffset + weightData.byteLength,
        ),
      }),
    );
    const x = tfl.tensor4d(pixels.subarray(0, 64 * 784), [64, 28, 28, 1]);
    const y = model.predict(x) as tfl.Tensor;
    const tfjsLogits = await y.data();
    for (let i = 0; i < 64 * 10; i++) expect(tfjsLogits[i]).toBeCloseTo(onnxLogits[i]!, 4);

    // safetensors with its architecture beside it; the initial weights on request.
    const st = cli(
      [
        'export',
        ticket.id,
        '--format',
        'safetensors',
        '--weights',
        'initial',
        '--out',
        join(data, 'st', 't.safetensors'),
      ],
      data,
    );
    expect(st.code).toBe(0);
    expect(existsSync(join(data, 'st', 't.architecture.json'))).toBe(true);

    // Results: CSV tables, one JSON document, the lineage tree.
    expect(
      cli(['export', experiment.id, '--format', 'csv', '--out', join(data, 'csv')], data).code,
    ).toBe(0);
    const ticketsCsv = readFileSync(join(data, 'csv', 'tickets.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(ticketsCsv[0]).toMatch(
      /^experiment_id,ticket_id,parent_id,source_ticket_id,level,method,remaining_weights/,
    );
    expect(ticketsCsv).toHaveLength(1 + show.tickets.length);
    expect(ticketsCsv.some((l) => l.includes(ticket.id) && l.includes(',imp,'))).toBe(true);
    const metricsCsv = readFileSync(join(data, 'csv', 'metrics.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(metricsCsv.length).toBeGreaterThan(4);
    expect(
      cli(['export', experiment.id, '--format', 'json', '--out', join(data, 'r.json')], data).code,
    ).toBe(0);
    const results = JSON.parse(readFileSync(join(data, 'r.json'), 'utf8'));
    expect(results.experiment.tickets).toHaveLength(show.tickets.length);
    expect(results.runs).toHaveLength(show.tickets.length);
    expect(results.metrics.length).toBe(metricsCsv.length - 1);
    expect(
      cli(['export', experiment.id, '--format', 'lineage', '--out', join(data, 'l.json')], data)
        .code,
    ).toBe(0);
    const lineage = JSON.parse(readFileSync(join(data, 'l.json'), 'utf8'));
    expect(lineage.roots).toHaveLength(1);
    expect(lineage.roots[0].method).toBe('dense');
    expect(lineage.roots[0].children.map((c: { id: string }) => c.id)).toContain(ticket.id);

    // Every file written is recorded with its size and sha256.
    const store = Store.open(data);
    try {
      const records = store.listExports(experiment.id);
      expect(records.map((r) => r.format).sort()).toEqual(
        [
          'onnx',
          'onnx',
          'tfjs',
          'tfjs',
          'safetensors',
          'safetensors',
          'csv',
          'csv',
          'csv',
          'json',
          'lineage',
        ].sort(),
      );
      for (const r of records.filter((r) => r.path !== onnxPath)) {
        const bytes = readFileSync(r.path);
        expect(r.checksum).toBe(sha256Hex(bytes));
        expect(r.bytes).toBe(bytes.byteLength);
      }
      expect(records.find((r) => r.format === 'csv')!.ticketId).toBeNull();
      expect(records.find((r) => r.format === 'tfjs')!.ticketId).toBe(ticket.id);
    } finally {
      store.close();
    }

    // A model format needs a ticket; a results format an experiment.
    const wrong = cli(
      ['export', experiment.id, '--format', 'onnx', '--out', join(data, 'x.onnx')],
      data,
    );
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/No ticket/);
  });
});
