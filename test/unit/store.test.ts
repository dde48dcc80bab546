// Store primitives with real processes: atomic writes survive SIGKILL at any moment, and locks
// exclude across processes and die with their holder.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isTempName, readJson, sweepTempFiles, writeJsonAtomic } from '../../src/store/atomic.ts';
import { acquireLock, lockPath } from '../../src/store/lock.ts';
import { ensureLayout } from '../../src/store/layout.ts';
import { storePaths } from '../../src/config/paths.ts';
import { Unavailable } from '../../src/engine/errors.ts';
import { tempDir } from '../helpers/berth.ts';
import { isSealed } from '../helpers/store-worker.ts';

const worker = fileURLToPath(new URL('../helpers/store-worker.ts', import.meta.url));

function startWorker(...args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', worker, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function firstLine(p: ChildProcess): Promise<string> {
  const [chunk] = (await once(p.stdout!, 'data')) as [Buffer];
  return chunk.toString().trim();
}

describe('atomic writes', () => {
  it('leave every file old or new, never torn, when the writer is killed with SIGKILL', async () => {
    const dir = tempDir();
    const file = join(dir, 'record.json');
    const seen = new Set<number>();
    const rounds = 25;
    for (let round = 0; round < rounds; round++) {
      const w = startWorker('write', file);
      assert.equal(await firstLine(w), 'ready');
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 60));
      w.kill('SIGKILL');
      await once(w, 'exit');
      const v = JSON.parse(readFileSync(file, 'utf8'));
      assert.ok(isSealed(v), `round ${round}: torn file (gen ${v.gen})`);
      seen.add(v.gen);
    }
    // the kills landed at different points of the writing
    assert.ok(seen.size > 1, `expected the writer to have been cut at several generations, saw ${[...seen]}`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sweeps temp files whose writer is dead, and readers never see them', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.a.json.tmp-999999999-abcd'), '{"torn":');
    writeFileSync(join(dir, `.b.json.tmp-${process.pid}-abcd`), '{}');
    assert.ok(isTempName('.a.json.tmp-999999999-abcd'));
    assert.ok(!isTempName('a.json'));
    assert.equal(await sweepTempFiles(dir), 1);
    assert.deepEqual(readdirSync(dir), [`.b.json.tmp-${process.pid}-abcd`]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('replaces a file and keeps its mode', async () => {
    const dir = tempDir();
    const f = join(dir, 'x.json');
    await writeJsonAtomic(f, { a: 1 }, { mode: 0o600 });
    await writeJsonAtomic(f, { a: 2 }, { mode: 0o600 });
    assert.deepEqual(await readJson(f), { a: 2 });
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.equal(await readJson(join(dir, 'missing.json')), undefined);
    assert.deepEqual(readdirSync(dir), ['x.json']);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('cross-process locks', () => {
  it('exclude each other: no increment is lost across four processes', async () => {
    const dir = tempDir();
    const file = join(dir, 'counter.json');
    const lock = join(dir, 'counter.lock');
    writeFileSync(file, '{"count":0}');
    const workers = Array.from({ length: 4 }, () => startWorker('count', file, lock, '40'));
    const codes = await Promise.all(workers.map((w) => once(w, 'exit').then(([c]) => c)));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).count, 160);
    rmSync(dir, { recursive: true, force: true });
  });

  it('are released when the holder is killed with SIGKILL', async () => {
    const dir = tempDir();
    const lock = join(dir, 'x.lock');
    const holder = startWorker('hold', '', lock);
    assert.equal(await firstLine(holder), 'locked');
    await assert.rejects(acquireLock(lock, { timeoutMs: 200 }), Unavailable);
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const l = await acquireLock(lock, { timeoutMs: 2000 });
    await l.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exclude within one process too, and shared locks coexist', async () => {
    const dir = tempDir();
    const lock = join(dir, 'y.lock');
    const a = await acquireLock(lock);
    await assert.rejects(acquireLock(lock, { timeoutMs: 100 }), Unavailable);
    await a.release();
    const s1 = await acquireLock(lock, { shared: true });
    const s2 = await acquireLock(lock, { shared: true, timeoutMs: 100 });
    await assert.rejects(acquireLock(lock, { timeoutMs: 100 }), Unavailable);
    await s1.release();
    await s2.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('survive their file being removed while held: the waiter locks the new file', async () => {
    const dir = tempDir();
    const lock = join(dir, 'z.lock');
    const a = await acquireLock(lock);
    let got = false;
    const waiting = acquireLock(lock, { timeoutMs: 5000 }).then((l) => {
      got = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got, false);
    rmSync(lock); // the object went away while its lock was held
    await a.release();
    const b = await waiting;
    assert.ok(existsSync(lock));
    await b.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('have names built from object kind and id only', () => {
    assert.equal(lockPath('/run/berth/locks', 'container', 'abc123'), '/run/berth/locks/container-abc123.lock');
    assert.throws(() => lockPath('/run/berth/locks', 'container', '../etc/passwd'));
  });
});

describe('store layout', () => {
  it('creates every directory with its mode, idempotently', async () => {
    const dir = tempDir();
    const p = storePaths(join(dir, 'root'), join(dir, 'run'));
    const old = process.umask(0o077);
    try {
      await ensureLayout(p);
      await ensureLayout(p);
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(p.root).mode & 0o777, 0o711);
    assert.equal(statSync(p.layers).mode & 0o777, 0o700);
    assert.equal(statSync(p.containers).mode & 0o777, 0o710);
    assert.equal(statSync(p.volumes).mode & 0o777, 0o701);
    assert.equal(statSync(p.locks).mode & 0o777, 0o700);
    assert.ok(statSync(p.runContainers).isDirectory());
    rmSync(dir, { recursive: true, force: true });
  });
});
