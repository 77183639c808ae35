import { afterEach } from 'vitest';

// tfjs kernels and the native ones run synchronously, and a test file's tests follow one
// another as promise continuations: a file of many kernel tests (wasm-kernels.test.ts runs
// over a minute) never lets its worker's event loop read vitest's replies, and vitest fails
// the run when one takes 60 s ("Timeout calling onTaskUpdate"). One macrotask after every
// test lets them through.
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
