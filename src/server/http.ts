import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMethodName, type WireError } from '../api/contract.ts';
import type { Lab } from '../services/lab.ts';

/**
 * Browser mode: the contract over HTTP (`POST /api/<method>`, JSON in and out) and events
 * over Server-Sent Events (`GET /api/events`, replaying what a reconnecting client missed
 * from its Last-Event-ID). Bound to 127.0.0.1 and guarded by a random token, given in the
 * printed URL and sent back as `Authorization: Bearer` or `?token=`.
 */
export interface ServerHandle {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const RENDERER_DIST = fileURLToPath(new URL('../../renderer/dist', import.meta.url));
const MAX_BODY = 10 * 1024 * 1024;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

const STATUS: Record<string, number> = {
  INVALID_INPUT: 400,
  INVALID_SPEC: 400,
  INVALID_DATASET: 400,
  DATASET_NOT_FOUND: 404,
  NOT_FOUND: 404,
  FILE_EXISTS: 409,
  JOB_RUNNING_ELSEWHERE: 409,
  DISK_FULL: 507,
};

function toWire(e: unknown): WireError {
  const err = e as Error & { code?: string };
  return {
    name: err.name ?? 'Error',
    code: err.code ?? 'INTERNAL',
    message: err.message ?? String(e),
  };
}

function send(res: ServerResponse, status: number, body: unknown) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(data);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY)
      throw Object.assign(new Error('request body over 10 MiB'), { code: 'INVALID_INPUT' });
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw Object.assign(new Error('request body is not JSON'), { code: 'INVALID_INPUT' });
  }
}

function placeholderPage(): string {
  return `<!doctype html><meta charset="utf-8"><title>TicketLab</title>
<h1>TicketLab</h1><p>The workbench UI is not built in this checkout. The API is live:
<code>POST /api/&lt;method&gt;</code> with the token, events at <code>/api/events</code>.</p>`;
}

export async function startServer(
  lab: Lab,
  options: { port?: number; token?: string } = {},
): Promise<ServerHandle> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const expected = Buffer.from(token);
  const authorised = (req: IncomingMessage, url: URL) => {
    const header = req.headers.authorization?.replace(/^Bearer\s+/i, '');
    const given = Buffer.from(header ?? url.searchParams.get('token') ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const streams = new Set<ServerResponse>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    try {
      if (url.pathname.startsWith('/api/')) {
        if (!authorised(req, url))
          return send(res, 401, {
            ok: false,
            error: {
              name: 'Unauthorized',
              code: 'UNAUTHORIZED',
              message: 'missing or wrong token',
            },
          });
        if (url.pathname === '/api/events' && req.method === 'GET') {
          const last = Number(
            req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? NaN,
          );
          res.writeHead(200, {
            'content-type': 'text/event-stream',
            'cache-control': 'no-store',
            connection: 'keep-alive',
          });
          res.write(': connected\n\n');
          streams.add(res);
          const unsubscribe = lab.subscribe(
            (e) => res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`),
            Number.isFinite(last) ? last : undefined,
          );
          req.on('close', () => {
            unsubscribe();
            streams.delete(res);
          });
          return;
        }
        const method = url.pathname.slice('/api/'.length);
        if (req.method !== 'POST')
          return send(res, 405, {
            ok: false,
            error: { name: 'MethodNotAllowed', code: 'INVALID_INPUT', message: 'use POST' },
          });
        if (!isMethodName(method))
          return send(res, 404, {
            ok: false,
            error: { name: 'NotFound', code: 'NOT_FOUND', message: `Unknown method "${method}"` },
          });
        const input = await readBody(req);
        const result = await lab.invoke(method, input);
        return send(res, 200, { ok: true, result });
      }
      if (req.method !== 'GET') return send(res, 405, { ok: false });
      // Static files of the built renderer; never outside its folder.
      const file = normalize(
        join(RENDERER_DIST, url.pathname === '/' ? 'index.html' : url.pathname),
      );
      if (
        file.startsWith(resolve(RENDERER_DIST) + sep) &&
        existsSync(file) &&
        statSync(file).isFile()
      ) {
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        return res.end(readFileSync(file));
      }
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(placeholderPage());
      }
      res.writeHead(404).end();
    } catch (e) {
      const wire = toWire(e);
      send(res, STATUS[wire.code] ?? 500, { ok: false, error: wire });
    }
  });

  await new Promise<void>((ready) => server.listen(options.port ?? 0, '127.0.0.1', ready));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise((done) => {
        for (const s of streams) s.end();
        server.close(() => done());
      }),
  };
}
