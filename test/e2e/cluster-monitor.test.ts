import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  slurmUnavailable,
  startOneNodeSlurm,
  type OneNodeSlurm,
} from '../cluster/one-node-slurm.ts';
import { startServedBrowser, type ServedBrowser } from './served-browser.ts';

/**
 * The monitor follows a cluster job's Slurm state live, in Chromium against a real
 * `ticketlab serve` that submits to a real one-node Slurm: the job stays `running` for the
 * app while Slurm has it pending and then running, so only the host's state events can
 * tell the page.
 */
const unavailable = slurmUnavailable();
let cluster: OneNodeSlurm;
let app: ServedBrowser;
let page: Page;

beforeAll(async () => {
  if (unavailable) return;
  cluster = await startOneNodeSlurm({ cpus: 2, memoryMb: 4000 });
  // `serve` (and the batch jobs it submits) reach this cluster.
  Object.assign(process.env, cluster.env);
  app = await startServedBrowser('cluster-monitor');
  page = await app.browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await cluster?.stop();
}, 60_000);

describe.skipIf(unavailable)(
  `the monitor and Slurm${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    it('shows a cluster job pending with its reason, then running, without a reload', async () => {
      const { server } = app;
      // Another job holds the node's two CPUs: the TicketLab job waits for them.
      const blocker = cluster
        .command('sbatch', [
          '--parsable',
          '--cpus-per-task=2',
          '--mem=100M',
          '--output=/dev/null',
          '--wrap=sleep 600',
        ])
        .trim();
      // Open before the job exists: every state it has is an event to this page.
      await page.goto(`${server.url.origin}/?token=${server.token}#/monitor`);
      await page.getByText('No jobs.').waitFor();
      const created = await server.call<{ jobs: { id: string }[] }>('sweeps.create', {
        spec: {
          name: 'waits for the node',
          base: {
            model: 'lenet-300-100',
            training: { duration: '100000it', evalEvery: 10000 },
            pruning: { levels: 1 },
          },
          axes: { seed: [3] },
          target: { kind: 'slurm', cpusPerTask: 1, memory: '1000M' },
        },
      });
      expect(created.status).toBe(200);
      const jobId = created.body.result.jobs[0]!.id;

      const slurmState = page.getByLabel(`Slurm state of ${jobId}`);
      await expect.poll(() => slurmState.textContent()).toMatch(/: PENDING \(Resources\)$/);
      // Marks this page: a reload would lose it.
      await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));

      cluster.command('scancel', [blocker]);
      await expect.poll(() => slurmState.textContent()).toMatch(/: RUNNING$/);
      expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(
        true,
      );

      const cancelled = await server.call('jobs.cancel', { jobId });
      expect(cancelled.status).toBe(200);
      await expect.poll(() => slurmState.textContent()).toMatch(/: CANCELLED$/);
    }, 120_000);
  },
);
