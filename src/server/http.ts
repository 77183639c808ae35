import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMethodName, type WireError } from '../api/contract.ts';
import { CONTENT_SECURITY_POLICY } from '../core/csp.ts';
import { isErrorCode, TicketLabError } from '../core/errors.ts';
import type { Lab } from '../services/lab.ts';

/**
 * Browser mode: the contract over HTTP (`POST /api/<method>`, JSON in and out) and events
 * over Server-Sent Events (`GET /api/events`, replaying what a reconnecting client missed
 * from its Last-Event-ID). Bound to 127.0.0.1, answering only requests addressed to a
 * loopback name, and guarded by a random token given in the printed URL and sent back as
 * `Authorization: Bearer` (or `?token=` on the event stream, where no header can be sent).
 */
export interface ServerHandle {
  /** the lab the server opened once its port was bound; the caller closes it */
  lab: Lab;
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

/**
 * Sent with every response: the pages' CSP (no framing), no MIME sniffing, and no
 * Referer, which would carry the token-bearing page URL to any link's site.
 */
const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

/** An error as a client sees it. Errors without a code are bugs: their text (which may name
 * files on this machine) goes to the server's log, and the client gets a reference to it. */
function toWire(e: unknown): WireError {
  const err = e as Error & { code?: unknown };
  if (typeof err?.code === 'string' && isErrorCode(err.code))
    return { name: err.name ?? 'Error', code: err.code, message: err.message ?? String(e) };
  const ref = randomBytes(4).toString('hex');
  console.error(`TicketLab server: internal error ${ref}:`, e);
  return {
    name: 'InternalError',
    code: 'INTERNAL',
    message: `Internal error (reference ${ref} in the server's log).`,
  };
}

function send(res: ServerResponse, status: number, body: unknown) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(data);
}

function refuse(res: ServerResponse, status: number, code: string, message: string) {
  send(res, status, { ok: false, error: { name: 'RequestRefused', code, message } });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new TicketLabError('INVALID_INPUT', 'request body over 10 MiB');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new TicketLabError('INVALID_INPUT', 'request body is not JSON');
  }
}

/**
 * Whether the Host header names this server as the browser reached it: a loopback name and
 * our port. A DNS-rebinding page (evil.example resolving to 127.0.0.1) sends its own name.
 */
function isLocalHost(host: string | undefined, port: number): boolean {
  return (
    host !== undefined &&
    [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase())
  );
}

function placeholderPage(): string {
  return `<!doctype html><meta charset="utf-8"><title>TicketLab</title>
<h1>TicketLab</h1><p>The workbench UI is not built in this checkout. The API is live:
<code>POST /api/&lt;method&gt;</code> with the token, events at <code>/api/events</code>.</p>`;
}

/**
 * Binds 127.0.0.1 first and only then opens the lab (whose scheduler claims queued and
 * interrupted jobs), so a port in use fails before any job is touched.
 */
export async function startServer(
  openLab: () => Lab,
  options: { port?: number; token?: string } = {},
): Promise<ServerHandle> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const expected = Buffer.from(token);
  const matches = (given: string | null | undefined) => {
    const bytes = Buffer.from(given ?? '');
    return bytes.length === expected.length && timingSafeEqual(bytes, expected);
  };
  const streams = new Set<ServerResponse>();
  let lab: Lab | null = null;
  let port = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (!lab) return refuse(res, 503, 'UNAVAILABLE', 'starting; try again in a moment');
    if (url.pathname.startsWith('/api/')) {
      // The header everywhere; the query string only where a header cannot be sent
      // (EventSource), so the token does not end up in logs and histories for every call.
      const isEvents = url.pathname === '/api/events' && req.method === 'GET';
      const header = req.headers.authorization?.replace(/^Bearer\s+/i, '');
      if (!matches(header ?? (isEvents ? url.searchParams.get('token') : null)))
        return refuse(res, 401, 'UNAUTHORIZED', 'missing or wrong token');
      if (isEvents) {
        const last = Number(
          req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? NaN,
        );
        res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
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
      if (req.method !== 'POST') return refuse(res, 405, 'INVALID_INPUT', 'use POST');
      if (!isMethodName(method))
        return refuse(res, 404, 'NOT_FOUND', `Unknown method "${method.slice(0, 100)}"`);
      const input = await readBody(req);
      const result = await lab.invoke(method, input);
      return send(res, 200, { ok: true, result });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return refuse(res, 405, 'INVALID_INPUT', 'use GET');
    // Static files of the built renderer; never outside its folder.
    const file = normalize(
      join(RENDERER_DIST, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname)),
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
  };

  // Every request is parsed and answered inside one guard: no request, however malformed,
  // may reject outside it (an unhandled rejection would end the process and every job).
  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.on('error', () => req.destroy());
    void (async () => {
      try {
        if (!isLocalHost(req.headers.host, port))
          return refuse(res, 421, 'MISDIRECTED', 'this server answers only to 127.0.0.1');
        const url = parseUrl(req.url);
        if (!url) return refuse(res, 400, 'INVALID_INPUT', 'malformed request URL');
        await handle(req, res, url);
      } catch (e) {
        // A client that went away mid-request has nobody left to answer.
        if (res.headersSent || req.socket.destroyed) return void res.destroy();
        const wire = toWire(e);
        send(res, STATUS[wire.code] ?? 500, { ok: false, error: wire });
      }
    })();
  });
  // Malformed request lines and headers never reach the handler: answer 400 and close.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((ready, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        e.code === 'EADDRINUSE'
          ? new TicketLabError(
              'INVALID_INPUT',
              `port ${options.port} is in use on 127.0.0.1; choose another with --port, or leave it out for a free one`,
            )
          : e,
      ),
    );
    server.listen(options.port ?? 0, '127.0.0.1', ready);
  });
  port = (server.address() as { port: number }).port;
  let opened: Lab;
  try {
    opened = lab = openLab();
  } catch (e) {
    server.close();
    throw e;
  }
  return {
    lab: opened,
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

/** The request's URL with its path decoded once, or null for one that does not parse. */
function parseUrl(raw: string | undefined): URL | null {
  try {
    const url = new URL(raw ?? '/', 'http://127.0.0.1');
    decodeURIComponent(url.pathname);
    return url;
  } catch {
    return null;
  }
}
