/**
 * The preload (sandboxed, bundled to CommonJS): exposes `window.ticketlab`, a narrow bridge
 * that calls contract methods and subscribes to events. Nothing else of IPC or Node reaches
 * the page.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { DesktopBridge, IpcReply } from '../src/api/client.ts';
import type { SequencedEvent } from '../src/api/events.ts';

const METHOD_NAME = /^[a-z][a-zA-Z]*(\.[a-z][a-zA-Z]*)?$/;

const bridge: DesktopBridge = {
  invoke: (method: string, input: unknown): Promise<IpcReply> => {
    if (typeof method !== 'string' || !METHOD_NAME.test(method)) {
      return Promise.resolve({
        ok: false,
        error: { name: 'Error', code: 'INVALID_INPUT', message: `not a method: ${String(method)}` },
      });
    }
    return ipcRenderer.invoke(`ticketlab:${method}`, input) as Promise<IpcReply>;
  },
  subscribe: (listener: (e: SequencedEvent) => void) => {
    const onEvent = (_: IpcRendererEvent, e: SequencedEvent) => listener(e);
    ipcRenderer.on('ticketlab:event', onEvent);
    return () => void ipcRenderer.removeListener('ticketlab:event', onEvent);
  },
};

contextBridge.exposeInMainWorld('ticketlab', bridge);
