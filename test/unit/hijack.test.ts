// The hijack helper with a real http server on a unix socket: what attach and exec will rely on.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { buildApp, type App } from '../../src/server/app.ts';
import { dispatchUpgrade, hijack, MULTIPLEXED_STREAM, RAW_STREAM } from '../../src/server/hijack.ts';
import { Demuxer, muxFrame, StreamType } from '../../src/server/stdcopy.ts';
import { defineRoute } from '../../src/server/route.ts';
import { NotFound } from '../../src/engine/errors.ts';
import { storePaths } from '../../src/config/paths.ts';
import { IdleTracker } from '../../src/server/idle.ts';
import { tempDir } from '../helpers/berth.ts';

// An exec-like route: reads a JSON body, then echoes stdin back as stdout frames (or raw with Tty).
const echo = defineRoute({
  method: 'POST',
  path: '/echo/{name}/start',
  api: 'compat',
  operationId: 'Echo',
  tag: 'Test',
  summary: 'echo',
  body: async () => z.object({ Tty: z.boolean().default(false), Greeting: z.string().optional() }).default({ Tty: false }),
  responses: { 101: { description: 'upgraded' }, 404: { description: 'missing' } },
  handler: ({ body, params, request, reply }) => {
    if (params.name !== 'ok') throw new NotFound(`No such container: ${params.name}`);
    const s = hijack(request, reply, body.Tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    const out = (b: Buffer) => s.output.write(body.Tty ? b : muxFrame(StreamType.Stdout, b));
    if (body.Greeting) out(Buffer.from(body.Greeting));
    s.input.on('data', (d: Buffer) => out(d));
    s.input.on('end', () => {
      if (!body.Tty) s.output.write(muxFrame(StreamType.Stderr, 'bye'));
      s.close();
    });
  },
});

let dir: string;
let sock: string;
let app: App;
let tracker: IdleTracker;

before(async () => {
  dir = tempDir();
  sock = join(dir, 'h.sock');
  app = await buildApp({
    engine: { paths: storePaths(join(dir, 'root'), join(dir, 'run')), programs: { runc: 'runc', conmon: 'conmon' }, registriesConf: [] },
    routes: [echo],
    logLevel: 'silent',
  });
  tracker = new IdleTracker(0, () => {});
  const server = app.fastify.server;
  tracker.watch(server);
  server.on('upgrade', (req, socket, head) => dispatchUpgrade(app.handler, req, socket as Socket, head));
  server.listen(sock);
  await once(server, 'listening');
});

after(async () => {
  app.fastify.server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Reads from `s` until the peer closes; returns everything. */
async function readAll(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await once(s, 'end');
  return Buffer.concat(chunks);
}

function splitHead(all: Buffer): { head: string; body: Buffer } {
  const i = all.indexOf('\r\n\r\n');
  assert.ok(i > 0, `no HTTP head in ${JSON.stringify(all.toString())}`);
  return { head: all.subarray(0, i).toString(), body: all.subarray(i + 4) };
}

function upgradeRequest(path: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

describe('hijack', () => {
  it('answers 101 UPGRADED, keeps stdin out of the HTTP parser, and streams until the client half-closes', async () => {
    const s = connect(sock);
    await once(s, 'connect');
    const req = upgradeRequest('/v1.50/echo/ok/start', JSON.stringify({ Tty: false, Greeting: 'hi ' }));
    // the body split across writes, and stdin right behind it in the same packet
    s.write(req.slice(0, req.length - 5));
    await new Promise((r) => setTimeout(r, 30));
    s.write(req.slice(req.length - 5) + 'GET / HTTP/1.1\r\n\r\n');
    await new Promise((r) => setTimeout(r, 30));
    s.write('second');
    s.end(); // CloseWrite: the client keeps reading
    const { head, body } = splitHead(await readAll(s));
    assert.match(head, /^HTTP\/1\.1 101 UPGRADED\r\n/);
    assert.match(head, /Content-Type: application\/vnd\.docker\.multiplexed-stream/);
    assert.match(head, /Connection: Upgrade/);
    assert.match(head, /Upgrade: tcp/);
    const frames = new Demuxer().push(body);
    const stdout = frames.filter((f) => f.stream === StreamType.Stdout).map((f) => f.payload.toString()).join('');
    assert.equal(stdout, 'hi GET / HTTP/1.1\r\n\r\nsecond');
    assert.deepEqual(frames.filter((f) => f.stream === StreamType.Stderr).map((f) => f.payload.toString()), ['bye']);
  });

  it('streams raw bytes for a TTY', async () => {
    const s = connect(sock);
    await once(s, 'connect');
    s.write(upgradeRequest('/echo/ok/start', '{"Tty":true}') + 'raw bytes');
    setTimeout(() => s.end(), 50);
    const { head, body } = splitHead(await readAll(s));
    assert.match(head, /Content-Type: application\/vnd\.docker\.raw-stream/);
    assert.equal(body.toString(), 'raw bytes');
  });

  it('answers an error before the hijack as JSON with its status, then closes', async () => {
    const s = connect(sock);
    await once(s, 'connect');
    s.write(upgradeRequest('/echo/nope/start', '{}'));
    const { head, body } = splitHead(await readAll(s));
    assert.match(head, /^HTTP\/1\.1 404 Not Found/);
    assert.deepEqual(JSON.parse(body.toString()), { message: 'No such container: nope' });
  });

  it('rejects an unknown API version on an upgrade request as Docker does', async () => {
    const s = connect(sock);
    await once(s, 'connect');
    s.write(upgradeRequest('/v1.99/echo/ok/start', '{}'));
    const { head, body } = splitHead(await readAll(s));
    assert.match(head, /^HTTP\/1\.1 400 Bad Request/);
    assert.match(JSON.parse(body.toString()).message, /client version 1\.99 is too new/);
  });

  it('serves old clients that do not ask to upgrade with 200 and the raw stream', async () => {
    const s = connect(sock);
    await once(s, 'connect');
    const body = '{"Tty":true,"Greeting":"plain"}';
    s.write(`POST /echo/ok/start HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const all = await new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (buf.includes('plain')) resolve(buf);
      });
    });
    s.destroy();
    const { head, body: out } = splitHead(all);
    assert.match(head, /^HTTP\/1\.1 200 OK/);
    assert.match(head, /Content-Type: application\/vnd\.docker\.raw-stream/);
    assert.equal(out.toString(), 'plain');
  });

  it('counts a hijacked connection as busy until it closes', async () => {
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(tracker.activeCount, 0);
    const s = connect(sock);
    await once(s, 'connect');
    s.write(upgradeRequest('/echo/ok/start', '{"Tty":true}'));
    s.write('x');
    await once(s, 'data');
    assert.equal(tracker.activeCount, 1);
    s.end();
    await once(s, 'close');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(tracker.activeCount, 0);
  });
});
