// The idle rule with a real http server: what holds the service, and what does not.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, Agent } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { IdleTracker } from '../../src/server/idle.ts';
import { tempDir } from '../helpers/berth.ts';
import { call } from '../helpers/http.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup(timeoutMs: number, handler: Parameters<typeof createServer>[1]) {
  const dir = tempDir();
  const sock = join(dir, 's.sock');
  let idleAt = 0;
  const tracker = new IdleTracker(timeoutMs, () => (idleAt = Date.now()));
  const server = createServer(handler!);
  tracker.watch(server);
  server.listen(sock);
  await once(server, 'listening');
  tracker.start();
  return {
    sock,
    tracker,
    idleAt: () => idleAt,
    close: () => {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('idle tracking', () => {
  it('fires after the timeout with nothing to do', async () => {
    const t = await setup(100, (_q, s) => s.end('ok'));
    await sleep(250);
    assert.ok(t.idleAt() > 0);
    t.close();
  });

  it('holds while a response streams, and fires once it ends', async () => {
    const t = await setup(100, (_q, res) => {
      res.write('first');
      setTimeout(() => res.end('last'), 400);
    });
    const started = Date.now();
    const a = await call(t.sock, 'GET', '/');
    assert.equal(a.text, 'firstlast');
    assert.equal(t.idleAt(), 0, 'went idle while a response was streaming');
    await sleep(250);
    assert.ok(t.idleAt() - started >= 400);
    t.close();
  });

  it('holds a connection accepted whose request has not arrived yet', async () => {
    const t = await setup(100, (_q, s) => s.end('ok'));
    const s = connect(t.sock);
    await once(s, 'connect');
    await sleep(250);
    assert.equal(t.idleAt(), 0, 'went idle with a request on its way');
    s.resume();
    s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await once(s, 'end');
    await sleep(250);
    assert.ok(t.idleAt() > 0);
    t.close();
  });

  it('does not count an idle keep-alive connection', async () => {
    const t = await setup(100, (_q, s) => s.end('ok'));
    const agent = new Agent({ keepAlive: true });
    await call(t.sock, 'GET', '/', { agent });
    await sleep(250);
    assert.ok(t.idleAt() > 0, 'a pooled keep-alive connection kept the service busy');
    agent.destroy();
    t.close();
  });

  it('never fires with timeout 0', async () => {
    const t = await setup(0, (_q, s) => s.end('ok'));
    await call(t.sock, 'GET', '/');
    await sleep(150);
    assert.equal(t.idleAt(), 0);
    t.close();
  });

  it('holds for explicit work tokens', async () => {
    let fired = 0;
    const tr = new IdleTracker(50, () => fired++);
    tr.start();
    const release = tr.hold();
    await sleep(120);
    assert.equal(fired, 0);
    release();
    release(); // idempotent
    assert.equal(tr.activeCount, 0);
    await sleep(120);
    assert.equal(fired, 1);
  });
});
