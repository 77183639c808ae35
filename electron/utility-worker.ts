import { utilityProcess } from 'electron';
import { asWorkerMessage } from '../src/jobs/protocol.ts';
import type { WorkerFactory } from '../src/jobs/worker-host.ts';

/**
 * Compute workers as Electron utility processes: crash-isolated (a native crash in
 * libtensorflow kills the worker, not the app), killable, and listed in the app's metrics.
 */
export function utilityWorkerFactory(entry: string): WorkerFactory {
  return (env) => {
    const child = utilityProcess.fork(entry, [], {
      env: { ...process.env, ...env },
      serviceName: 'TicketLab compute worker',
      stdio: 'inherit',
    });
    return {
      get pid() {
        return child.pid;
      },
      send: (m) => child.postMessage(m),
      onMessage: (listener) => child.on('message', (m: unknown) => listener(asWorkerMessage(m))),
      onExit: (listener) => child.on('exit', (code: number) => listener(code, null)),
      kill: () => void child.kill(),
    };
  };
}
