// A real `berth serve` on its own socket: what a client sees of the first endpoints, the
// conventions every later endpoint follows, and the service's own life cycle.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { berthBin, startBerth, tempDir, waitFor, type Berth } from '../helpers/berth.ts';
import { call } from '../helpers/http.ts';

let b: Berth;
before(async () => {
  b = await startBerth();
});
after(async () => {
  assert.equal(await b.stop(), 0);
});

describe('ping', () => {
  for (const path of ['/_ping', '/v1.41/_ping', '/v1.24/_ping']) {
    it(`GET ${path} answers OK with Docker's headers`, async () => {
      const a = await call(b.sock, 'GET', path);
      assert.equal(a.status, 200);
      assert.equal(a.text, 'OK');
      assert.equal(a.headers['api-version'], '1.51');
      assert.equal(a.headers['ostype'], 'linux');
      assert.equal(a.headers['docker-experimental'], 'false');
      assert.equal(a.headers['builder-version'], '1');
      assert.equal(a.headers['libpod-api-version'], '5.0.0');
      assert.equal(a.headers['cache-control'], 'no-cache, no-store, must-revalidate');
      assert.equal(a.headers['pragma'], 'no-cache');
      assert.equal(a.headers['content-type'], 'text/plain; charset=utf-8');
      assert.match(String(a.headers['server']), /^Berth\/\S+ \(linux\)$/);
    });
  }

  it('HEAD /_ping answers the headers with Content-Length 0', async () => {
    const a = await call(b.sock, 'HEAD', '/_ping');
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-length'], '0');
    assert.equal(a.headers['api-version'], '1.51');
    assert.equal(a.text, '');
  });

  it('libpod ping carries the libpod version', async () => {
    const a = await call(b.sock, 'GET', '/v5.0.0/libpod/_ping');
    assert.equal(a.status, 200);
    assert.equal(a.text, 'OK');
    assert.equal(a.headers['libpod-api-version'], '5.0.0');
  });
});

describe('version', () => {
  it('has Docker\'s shape with the real runc and conmon versions', async () => {
    const a = await call(b.sock, 'GET', '/v1.50/version');
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'application/json');
    const v = a.json();
    assert.equal(v.ApiVersion, '1.51');
    assert.equal(v.MinAPIVersion, '1.24');
    assert.equal(v.Os, 'linux');
    assert.equal(v.Arch, process.arch === 'x64' ? 'amd64' : process.arch);
    assert.equal(v.KernelVersion, readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    const byName = Object.fromEntries(v.Components.map((c: any) => [c.Name, c]));
    assert.equal(byName.Engine.Version, v.Version);
    assert.equal(byName.Engine.Details.ApiVersion, '1.51');
    const runc = spawnOut('runc', ['--version']);
    assert.equal(byName.runc.Version, /runc version (\S+)/.exec(runc)![1]);
    assert.equal(byName.runc.Details.GitCommit, /commit: (\S+)/.exec(runc)![1]);
    assert.equal(byName.conmon.Version, /conmon version (\S+)/.exec(spawnOut('conmon', ['--version']))![1]);
  });

  it('libpod version names the engine as podman --remote looks for it', async () => {
    const v = (await call(b.sock, 'GET', '/v4.0.0/libpod/version')).json();
    assert.equal(v.Components[0].Name, 'Podman Engine');
    assert.equal(v.Components[0].Details.APIVersion, '5.0.0');
  });
});

function spawnOut(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } }).toString();
}

describe('info', () => {
  it('reports real figures of this host and store', async () => {
    const a = await call(b.sock, 'GET', '/v1.41/info');
    assert.equal(a.status, 200);
    const i = a.json();
    assert.equal(i.Containers, 0);
    assert.equal(i.ContainersRunning, 0);
    assert.equal(i.Images, 0);
    assert.equal(i.Driver, 'overlay');
    assert.equal(i.DockerRootDir, b.root);
    assert.equal(i.NCPU, (await import('node:os')).availableParallelism());
    assert.equal(i.MemTotal, (await import('node:os')).totalmem());
    assert.equal(i.OSType, 'linux');
    assert.match(i.OperatingSystem, /Debian|Linux/);
    assert.equal(i.CgroupVersion, existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1');
    assert.equal(i.CgroupDriver, 'cgroupfs');
    assert.equal(i.DefaultRuntime, 'runc');
    assert.match(i.Runtimes.runc.path, /runc$/);
    assert.ok(i.SecurityOptions.some((o: string) => o.startsWith('name=seccomp')));
    assert.equal(i.Name, (await import('node:os')).hostname());
    assert.equal(i.Swarm.LocalNodeState, 'inactive');
    assert.equal(i.IndexServerAddress, 'https://index.docker.io/v1/');
    assert.ok(i.RegistryConfig.IndexConfigs['docker.io'].Official);
    assert.match(i.ID, /^[0-9a-f-]{36}$/);
  });

  it('keeps the same engine ID across restarts', async () => {
    const id1 = (await call(b.sock, 'GET', '/info')).json().ID;
    assert.equal(readFileSync(join(b.root, 'engine-id'), 'utf8').trim(), id1);
  });

  it('libpod info has host, store, registries and version', async () => {
    const i = (await call(b.sock, 'GET', '/v5.0.0/libpod/info')).json();
    assert.equal(i.store.graphRoot, b.root);
    assert.equal(i.store.runRoot, b.runroot);
    assert.equal(i.host.ociRuntime.name, 'runc');
    assert.equal(i.version.APIVersion, '5.0.0');
    assert.ok(Array.isArray(i.registries.search));
  });
});

describe('system df', () => {
  it('answers empty lists', async () => {
    const d = (await call(b.sock, 'GET', '/system/df')).json();
    assert.deepEqual(d, { LayersSize: 0, Images: [], Containers: [], Volumes: [], BuildCache: [] });
  });
  it('answers only the types asked for', async () => {
    const d = (await call(b.sock, 'GET', '/v1.50/system/df?type=volume&type=container')).json();
    assert.deepEqual(d, { Containers: [], Volumes: [] });
  });
  it('refuses an unknown type with 400', async () => {
    const a = await call(b.sock, 'GET', '/system/df?type=bogus');
    assert.equal(a.status, 400);
    assert.deepEqual(a.json(), { message: 'unknown object type: bogus' });
  });
});

describe('HTTP conventions', () => {
  it('refuses API versions out of range with Docker\'s wording', async () => {
    const old = await call(b.sock, 'GET', '/v1.12/version');
    assert.equal(old.status, 400);
    assert.deepEqual(old.json(), { message: 'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version' });
    const young = await call(b.sock, 'GET', '/v1.99/version');
    assert.equal(young.status, 400);
    assert.deepEqual(young.json(), { message: 'client version 1.99 is too new. Maximum supported API version is 1.51' });
  });

  it('answers an unknown route 404 page not found', async () => {
    for (const [m, p] of [['GET', '/v1.41/nope'], ['GET', '/nope'], ['POST', '/_ping'], ['DELETE', '/version']]) {
      const a = await call(b.sock, m!, p!);
      assert.equal(a.status, 404, `${m} ${p}`);
      assert.deepEqual(a.json(), { message: 'page not found' });
      assert.equal(a.headers['content-type'], 'application/json');
    }
  });

  it('answers a bad query parameter with 400 and a message', async () => {
    const a = await call(b.sock, 'GET', '/system/df?verbose=maybe');
    assert.equal(a.status, 400);
    assert.match(a.json().message, /verbose/);
  });
});

describe('service life cycle', () => {
  it('creates the store layout with its modes, and a 0660 socket', () => {
    assert.equal(statSync(b.root).mode & 0o777, 0o711);
    for (const d of ['images', 'layers', 'containers', 'volumes', 'networks']) assert.ok(statSync(join(b.root, d)).isDirectory(), d);
    for (const d of ['containers', 'locks']) assert.ok(statSync(join(b.runroot, d)).isDirectory(), d);
    const st = statSync(b.sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
  });

  it('refuses to start on a socket another berth is serving', async () => {
    const p = spawn(process.execPath, [berthBin, 'serve', '--listen', `unix://${b.sock}`, '--root', join(b.dir, 'r2'), '--runroot', join(b.dir, 'x2')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    const [code] = await once(p, 'exit');
    assert.equal(code, 1);
    assert.match(err, /another service is already listening on .*berth\.sock/);
    assert.equal((await call(b.sock, 'GET', '/_ping')).text, 'OK', 'the first service still answers');
  });

  it('replaces a stale socket file nobody answers on', async () => {
    const dir = tempDir();
    const stale = join(dir, 'berth.sock');
    // a process that bound the socket and died without removing it
    execFileSync('python3', ['-c', 'import socket,sys,os; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os._exit(0)', stale]);
    assert.ok(statSync(stale).isSocket());
    const c = await startBerth({ dir });
    assert.equal((await call(c.sock, 'GET', '/_ping')).text, 'OK');
    assert.equal(await c.stop(), 0);
  });

  it('refuses to replace a file that is not a socket', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'berth.sock'), 'precious');
    const p = spawn(process.execPath, [berthBin, 'serve', '--listen', `unix://${join(dir, 'berth.sock')}`, '--root', join(dir, 'r'), '--runroot', join(dir, 'x')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    const [code] = await once(p, 'exit');
    assert.equal(code, 1);
    assert.match(err, /is not a socket/);
    assert.equal(readFileSync(join(dir, 'berth.sock'), 'utf8'), 'precious');
  });

  it('serves several --listen sockets at once', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'second'));
    const second = join(dir, 'second', 'docker.sock');
    const c = await startBerth({ dir, extraArgs: ['--listen', `unix://${second}`] });
    // The sockets are bound one after another: the first answering says nothing of the second.
    await waitFor(() => call(second, 'GET', '/_ping').then(() => true, () => false), 5000, 'the second socket');
    assert.equal((await call(second, 'GET', '/_ping')).text, 'OK');
    assert.equal((await call(c.sock, 'GET', '/_ping')).text, 'OK');
    assert.equal(await c.stop(), 0);
    assert.ok(!existsSync(second), 'its socket files are removed at exit');
  });

  it('exits 0 by itself after --time idle seconds and removes its socket', async () => {
    const c = await startBerth({ time: 0.5 });
    await call(c.sock, 'GET', '/_ping');
    const code = await Promise.race([c.exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
    assert.equal(code, 0);
    assert.ok(!existsSync(c.sock));
    await c.stop();
  });

  it('on SIGTERM lets a request in flight finish, then exits 0', async () => {
    const c = await startBerth();
    const pending = call(c.sock, 'GET', '/info'); // spawns runc and conmon: takes a while
    await new Promise((r) => setTimeout(r, 5));
    c.proc.kill('SIGTERM');
    const a = await pending;
    assert.equal(a.status, 200);
    assert.equal(await c.exited, 0);
    await c.stop();
  });

  it('prints its version and help', async () => {
    const out = await run([berthBin, 'version']);
    assert.match(out.stdout, /^berth version \d+\.\d+\.\d+/);
    const help = await run([berthBin, '--help']);
    assert.match(help.stdout, /--listen unix:\/\/\/PATH/);
    assert.match(help.stdout, /BERTH_TIME/);
    const bad = await run([berthBin, 'frobnicate']);
    assert.equal(bad.code, 125);
  });
});

async function run(args: string[]): Promise<{ code: number | null; stdout: string }> {
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  p.stdout!.on('data', (d) => (stdout += d));
  const [code] = await once(p, 'exit');
  return { code, stdout };
}

