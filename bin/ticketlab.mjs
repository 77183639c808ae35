#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx's loader: no build step on each call.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const err = /** @type {Error & {code?: string}} */ (e);
  process.stderr.write(`ticketlab: ${err.code ? `[${err.code}] ` : ''}${err.message}\n`);
  process.exitCode = 1;
}
