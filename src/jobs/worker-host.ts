import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HostMessage, WorkerMessage } from './protocol.ts';
import { asWorkerMessage } from './protocol.ts';

/**
 * A compute worker process as the scheduler sees it. The desktop shell provides one backed
 * by Electron's utilityProcess; browser mode and the CLI fork a Node process. Either way a
 * native crash or an out-of-memory kills the worker, never the host.
 */
export interface WorkerProcess {
  readonly pid: number | undefined;
  send(message: HostMessage): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}

/**
 * What a worker is started with, as environment variables: TICKETLAB_BLOBS (the blob store's
 * root) and TICKETLAB_THREADS (its share of the cores for the native kernels, until the
 * scheduler's `threads` message changes it).
 */
export type WorkerEnv = Record<'TICKETLAB_BLOBS' | 'TICKETLAB_THREADS', string>;

export type WorkerFactory = (env: WorkerEnv) => WorkerProcess;

const BOOTSTRAP = fileURLToPath(new URL('./worker-bootstrap.mjs', import.meta.url));

export const forkWorker: WorkerFactory = (env) => {
  const child = fork(BOOTSTRAP, [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (listener) => child.on('message', (m) => listener(asWorkerMessage(m))),
    onExit: (listener) => child.on('exit', (code, signal) => listener(code, signal)),
    kill: () => child.kill('SIGKILL'),
  };
};
