import { METHODS, type MethodName } from '../src/api/contract.ts';
import type { IpcReply } from '../src/api/client.ts';
import type { SequencedEvent } from '../src/api/events.ts';
import { isAppUrl } from './security.ts';

/**
 * The contract over Electron IPC: one `ipcMain.handle` per contract method, nothing else.
 * Each handler checks that the call comes from the app's own frame, then hands the
 * payload to the Lab, which validates it with the method's schema. Errors cross as
 * `{ ok: false, error: { code, message } }` because Electron drops custom error fields.
 */
export const channelOf = (method: string) => `ticketlab:${method}`;
export const EVENTS_CHANNEL = 'ticketlab:event';

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, payload: unknown) => unknown): void;
}
export interface IpcEventLike {
  senderFrame: { url: string } | null;
}
export interface LabLike {
  invoke(method: MethodName, input: unknown): Promise<unknown>;
}

export function registerContract(ipcMain: IpcMainLike, lab: LabLike): MethodName[] {
  const methods = Object.keys(METHODS) as MethodName[];
  for (const method of methods) {
    ipcMain.handle(channelOf(method), async (event, payload): Promise<IpcReply> => {
      if (!event.senderFrame || !isAppUrl(event.senderFrame.url)) {
        return {
          ok: false,
          error: { name: 'Forbidden', code: 'FORBIDDEN', message: 'IPC from outside the app' },
        };
      }
      try {
        return { ok: true, result: await lab.invoke(method, payload) };
      } catch (e) {
        const err = e as Error & { code?: string };
        return {
          ok: false,
          error: { name: err.name, code: err.code ?? 'INTERNAL', message: err.message },
        };
      }
    });
  }
  return methods;
}

/** Events go to every app window; `send` is a window's webContents.send. */
export function forwardEvents(
  subscribe: (listener: (e: SequencedEvent) => void) => () => void,
  windows: () => { isDestroyed(): boolean; send(channel: string, e: SequencedEvent): void }[],
): () => void {
  return subscribe((e) => {
    for (const w of windows()) if (!w.isDestroyed()) w.send(EVENTS_CHANNEL, e);
  });
}
