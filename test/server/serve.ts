import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const BIN = join(resolve(import.meta.dirname, '..', '..'), 'bin', 'ticketlab.mjs');

export interface Served {
  child: ChildProcess;
  url: URL;
  token: string;
  call<T = unknown>(
    method: string,
    input?: unknown,
    token?: string,
  ): Promise<{
    status: number;
    body: { ok: boolean; result: T; error?: { code: string; message: string } };
  }>;
  stopped: Promise<number | null>;
}

/** Starts `ticketlab serve` as a real process and returns a client for its HTTP API. */
export async function serve(dataDir: string, args: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, ...args], {
    env: { ...process.env, TICKETLAB_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stopped = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const url = await new Promise<URL>((ready, fail) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Open: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
      if (m) ready(new URL(m[1]!));
    });
    child.on('exit', (code) => fail(new Error(`serve exited with ${code}: ${out}`)));
  });
  const token = url.searchParams.get('token')!;
  return {
    child,
    url,
    token,
    stopped,
    call: async (method, input = {}, useToken = token) => {
      const res = await fetch(new URL(`/api/${method}`, url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${useToken}` },
        body: JSON.stringify(input),
      });
      return { status: res.status, body: (await res.json()) as never };
    },
  };
}

export interface SseEvent {
  id: number;
  data: {
    type: string;
    jobId?: string;
    state?: string;
    level?: number;
    step?: number;
    seq: number;
    [k: string]: unknown;
  };
}

/** Reads Server-Sent Events until `until` returns true; returns every event read. */
export async function readEvents(
  s: Served,
  until: (e: SseEvent, all: SseEvent[]) => boolean,
  lastEventId?: number,
  timeoutMs = 120_000,
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const headers: Record<string, string> = {};
  if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
  const res = await fetch(new URL(`/api/events?token=${s.token}`, s.url), {
    headers,
    signal: controller.signal,
  });
  const reader = res.body!.getReader();
  const events: SseEvent[] = [];
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += new TextDecoder().decode(value);
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (\d+)$/m.exec(block);
        const data = /^data: (.*)$/m.exec(block);
        if (!id || !data) continue;
        const e = { id: Number(id[1]), data: JSON.parse(data[1]!) };
        events.push(e);
        if (until(e, events)) return events;
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}
