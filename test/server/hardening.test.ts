import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METHODS } from '../../src/api/contract.ts';
import { Rng } from '../../src/core/random.ts';
import { cli, tempDir } from '../helpers.ts';
import { serve, type Served } from './serve.ts';

/** Sends raw bytes, closes the sending side and returns what came back before the server
 * closed (or 2 s passed). */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const finish = () => {
      socket.destroy();
      done(reply);
    };
    socket.setTimeout(2000, finish);
    socket.on('data', (c) => (reply += c.toString('latin1')));
    socket.on('error', finish);
    socket.on('close', finish);
    socket.end(bytes);
  });
}

const statusOf = (reply: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? NaN);

async function alive(s: Served) {
  expect(s.child.exitCode).toBeNull();
  const r = await s.call('jobs.list', {});
  expect(r.status).toBe(200);
}

/** The audit's cases and their neighbours, each once, with and without the token. */
function knownBad(port: number, token: string): string[] {
  const auth = `Authorization: Bearer ${token}\r\n`;
  const host = `Host: 127.0.0.1:${port}\r\n`;
  return [
    'GET //[ HTTP/1.1\r\n\r\n', // new URL() throws: the pre-auth crash
    `GET //[ HTTP/1.1\r\n${host}\r\n`,
    `GET //[ HTTP/1.1\r\n${host}${auth}\r\n`,
    `POST //[/api/jobs.list HTTP/1.1\r\n${host}${auth}Content-Length: 2\r\n\r\n{}`,
    `GET /%E0%A4%A HTTP/1.1\r\n${host}\r\n`, // decodeURIComponent throws
    `GET /%00 HTTP/1.1\r\n${host}\r\n`,
    `GET /../../etc/passwd HTTP/1.1\r\n${host}\r\n`,
    `GET /..%2f..%2fetc%2fpasswd HTTP/1.1\r\n${host}\r\n`,
    `GET http://[::1 HTTP/1.1\r\n${host}\r\n`,
    `GET http://x:99999/ HTTP/1.1\r\n${host}\r\n`,
    `POST /api/ HTTP/1.1\r\n${host}${auth}\r\n`,
    `POST /api/jobs.list HTTP/1.1\r\n${host}${auth}Content-Length: 5\r\n\r\n{"a":`,
    `POST /api/jobs.list HTTP/1.1\r\n${host}${auth}Content-Length: 4\r\n\r\nnull`,
    `POST /api/experiments.create HTTP/1.1\r\n${host}${auth}Content-Length: 4\r\n\r\n[[[]`,
    `POST /api/__proto__ HTTP/1.1\r\n${host}${auth}\r\n`,
    `POST /api/constructor HTTP/1.1\r\n${host}${auth}\r\n`,
    `GET /api/events?token=${token}&lastEventId=-1e999 HTTP/1.1\r\n${host}\r\n`,
    `BREW / HTTP/1.1\r\n${host}\r\n`,
    `GET / HTTP/9.9\r\n${host}\r\n`,
    `GET / HTTP/1.1\r\nHost: ${'x'.repeat(20_000)}\r\n\r\n`,
    `GET / HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\n`,
    `POST /api/jobs.list HTTP/1.1\r\n${host}${auth}Transfer-Encoding: chunked\r\n\r\nZZZ\r\n`,
    '\x00\x01\x02\xff\r\n\r\n',
  ];
}

const PIECES = {
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'G\x00T', ''],
  paths: [
    '/',
    '/index.html',
    '/app.js',
    '/api/events',
    '//[',
    '/%',
    '/%ZZ',
    '/api/../api/jobs.list',
    '/api/%2e%2e/x',
    '/\u00ff',
    '/?token=',
    '/api/jobs.list?token=TOKEN',
    '*',
    '',
  ],
  headers: [
    'Host: HOST',
    'Host: evil.example',
    'Host:',
    'Authorization: Bearer TOKEN',
    'Authorization: Bearer wrong',
    'Authorization: Basic Og==',
    'Content-Length: -1',
    'Content-Length: 99999999999',
    'Content-Type: application/json',
    'Last-Event-ID: NaN',
    'Connection: keep-alive',
    'X: \u0000',
  ],
  bodies: ['', '{}', '{"limit":-1}', '{"spec":{}}', 'null', '"', '{"id":{"$gt":""}}', '[]'],
};

/** A random request from the pieces above, with its method taken from the contract now and then. */
function randomRequest(rng: Rng, port: number, token: string): string {
  const pick = <T>(xs: readonly T[]) => xs[rng.int(xs.length)]!;
  const methods = Object.keys(METHODS);
  const path = rng.next() < 0.3 ? `/api/${pick(methods)}` : pick(PIECES.paths);
  const headers = Array.from({ length: rng.int(4) }, () => pick(PIECES.headers));
  const body = pick(PIECES.bodies);
  return `${pick(PIECES.methods)} ${path} HTTP/1.1\r\n${headers.join('\r\n')}${headers.length ? '\r\n' : ''}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    .replaceAll('HOST', `127.0.0.1:${port}`)
    .replaceAll('TOKEN', token);
}

describe('browser mode survives any request (fuzz)', () => {
  it('answers malformed and random requests, with and without the token, and keeps serving', async () => {
    const s = await serve(tempDir());
    const port = Number(s.url.port);
    try {
      const cases = knownBad(port, s.token);
      const rng = new Rng(20261201);
      for (let i = 0; i < 2000; i++) cases.push(randomRequest(rng, port, s.token));
      for (let i = 0; i < 40; i++)
        cases.push(Buffer.from(Array.from({ length: 1 + rng.int(300) }, () => rng.int(256))) + '');
      const statuses = new Map<number, number>();
      for (const request of cases) {
        const reply = await raw(port, request);
        const status = statusOf(reply);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        // No answer leaks a path of this machine, and none is a server error.
        expect(reply).not.toMatch(/\/(?:tmp|work|home|root|usr)\//);
        if (Number.isFinite(status)) expect(status).toBeLessThan(500);
      }
      await alive(s);
      console.info(`fuzz: ${cases.length} requests, statuses ${JSON.stringify([...statuses])}`);
    } finally {
      s.child.kill('SIGTERM');
      await s.stopped;
    }
  }, 180_000);
});

describe('browser mode: defence in depth', () => {
  it('checks the Host header, keeps the token out of query strings and sends security headers', async () => {
    const s = await serve(tempDir());
    const port = Number(s.url.port);
    try {
      // A DNS-rebinding page reaches 127.0.0.1 under its own name: refused, even with the token.
      const rebound = await raw(
        port,
        `POST /api/jobs.list HTTP/1.1\r\nHost: evil.example:${port}\r\nAuthorization: Bearer ${s.token}\r\nContent-Length: 0\r\n\r\n`,
      );
      expect(statusOf(rebound)).toBe(421);
      for (const name of ['localhost', '127.0.0.1']) {
        const ok = await raw(
          port,
          `POST /api/jobs.list HTTP/1.1\r\nHost: ${name}:${port}\r\nAuthorization: Bearer ${s.token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        );
        expect(statusOf(ok)).toBe(200);
      }
      // The token in the query string opens the event stream only.
      const viaQuery = await fetch(new URL(`/api/jobs.list?token=${s.token}`, s.url), {
        method: 'POST',
      });
      expect(viaQuery.status).toBe(401);
      const events = await fetch(new URL(`/api/events?token=${s.token}`, s.url));
      expect(events.status).toBe(200);
      await events.body!.cancel();
      // Every response carries the headers, the page and the refusals alike.
      for (const res of [await fetch(new URL('/', s.url)), viaQuery]) {
        expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      }
    } finally {
      s.child.kill('SIGTERM');
      await s.stopped;
    }
  }, 60_000);

  it('refuses a port in use before it opens the data folder', async () => {
    const first = await serve(tempDir());
    try {
      const data = tempDir();
      const second = cli(['serve', '--port', first.url.port], data);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`port ${first.url.port} is in use`));
      expect(existsSync(join(data, 'ticketlab.db'))).toBe(false);
    } finally {
      first.child.kill('SIGTERM');
      await first.stopped;
    }
  }, 60_000);
});
