/**
 * The compute worker's entry: a thin adapter between the host's messages and
 * the runner of each job's kind (kinds/registry.ts). It loads the tfjs backend once and runs one job at a time. Started by the
 * host as a forked Node process (browser mode, CLI) or an Electron utilityProcess.
 */
import { availableParallelism } from 'node:os';
import { initBackend } from '../engine/backend.ts';
import { setKernelThreads } from '../engine/native-blas.ts';
import { BlobStore } from '../store/blobs.ts';
import { JOB_RUNNERS } from './kinds/registry.ts';
import { asHostMessage, type StartJob, type WorkerMessage } from './protocol.ts';
import { endsWorker } from './setting.ts';

/** Electron's utilityProcess talks through `process.parentPort`; a forked Node process through `process.send`. */
interface ParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}
const parentPort = (process as NodeJS.Process & { parentPort?: ParentPort }).parentPort;

const blobRoot = process.env.TICKETLAB_BLOBS;
if (!blobRoot || (!process.send && !parentPort)) {
  process.stderr.write(
    'worker-main: start me from the host (TICKETLAB_BLOBS and an IPC channel are needed)\n',
  );
  process.exit(2);
}
const blobs = new BlobStore(blobRoot);
// A host killed outright leaves the pipe closed before 'disconnect' arrives: the failed send
// then means the same thing, and the worker leaves quietly instead of dying of EPIPE.
// A job that ends after the GPU was lost, or with the WebAssembly backend crashed, ends this
// worker too, once its report is sent: the host starts a fresh one for the next job.
const post = (m: WorkerMessage) => {
  const leave = endsWorker(m);
  if (parentPort) {
    parentPort.postMessage(m);
    if (leave) setImmediate(() => process.exit(0));
  } else
    process.send!(m, undefined, undefined, (error) => {
      if (error || leave) process.exit(0);
    });
};
const onHostMessage = (listener: (raw: unknown) => void) =>
  parentPort ? parentPort.on('message', (e) => listener(e.data)) : process.on('message', listener);

const backend = await initBackend();
post({ type: 'ready', backend: backend.name, device: backend.device, skipped: backend.skipped });

let current: { jobId: string; cancel: AbortController; pause: AbortController } | null = null;
const queue: StartJob[] = [];

async function drain() {
  while (!current && queue.length > 0) {
    const job = queue.shift()!;
    current = { jobId: job.jobId, cancel: new AbortController(), pause: new AbortController() };
    await JOB_RUNNERS[job.kind](job, blobs, post, {
      cancel: current.cancel.signal,
      pause: current.pause.signal,
    });
    current = null;
  }
}

onHostMessage((raw) => {
  const m = asHostMessage(raw);
  if (m.type === 'start') {
    queue.push(m);
    void drain();
  } else if (m.type === 'threads') {
    // the native kernels run under the WebAssembly backend only
    const threads = setKernelThreads(m.count);
    if (threads !== null && backend.name === 'wasm' && current) {
      const jobs = m.jobs === 1 ? '1 running job' : `${m.jobs} running jobs`;
      post({
        type: 'log',
        jobId: current.jobId,
        level: 'info',
        message: `The native kernels now run on ${threads} thread${threads === 1 ? '' : 's'}: ${availableParallelism()} cores shared by ${jobs}.`,
      });
    }
  } else if (current?.jobId === m.jobId) {
    (m.type === 'pause' ? current.pause : current.cancel).abort();
  }
});
// The host went away: nothing left to report to (a utilityProcess dies with its app).
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal signals the whole process group: the host decides (it pauses the
// job, which writes a checkpoint), so the worker must not die of it first.
process.on('SIGINT', () => {});
