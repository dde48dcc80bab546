// Volumes through the real docker CLI and docker-py: the volume commands and their filters, data
// that outlives its container, anonymous volumes and their removal, copy-up from the image, the
// local driver's tmpfs and bind options, volumes-from, and the events. After every test no
// volume and no mount of this berth's paths is left.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { networkTeardownsDone, startBerth, tempDir, type Berth } from '../helpers/berth.ts';
import { dockerFor, dockerPyFor, dockerResultFor, removeAllContainers, startRegistries } from '../helpers/fixtures.ts';

const PORT = 5372;
const R = `127.0.0.1:${PORT}/library`;
const BUSYBOX = `${R}/busybox:latest`;
const RICH = `${R}/rich:latest`;

let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let run: ReturnType<typeof dockerResultFor>;
let py: ReturnType<typeof dockerPyFor>;
let registries: { stop(): void };

const lines = (s: string) => s.split('\n').filter(Boolean);
const volumes = async () => lines((await docker('volume', 'ls', '-q')).stdout).sort();
const inspect = async (what: string, format: string) => (await docker('inspect', '-f', format, what)).stdout.trim();
/**
 * Mount points under this berth's directory (its rootfs mounts, volume mounts), but network
 * namespaces: a removal tears the network down after the container is gone (networks.test.ts).
 */
const berthMounts = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(b.dir) && !p.startsWith(join(b.runroot, 'netns') + '/'));

before(async () => {
  registries = startRegistries([['start', PORT]]);
  b = await startBerth();
  docker = dockerFor(b);
  run = dockerResultFor(b);
  py = dockerPyFor(b);
  await docker('pull', '-q', BUSYBOX);
  await docker('pull', '-q', RICH);
});
afterEach(async () => {
  await removeAllContainers(docker);
  await networkTeardownsDone(b);
  assert.deepEqual(await volumes(), [], 'the test removed its volumes');
  assert.deepEqual(berthMounts(), [], 'no mount is left');
});
after(async () => {
  if (docker) {
    await removeAllContainers(docker).catch(() => {});
    for (const v of await volumes().catch(() => [])) await docker('volume', 'rm', '-f', v).catch(() => {});
  }
  await b?.stop();
  registries?.stop();
});

describe('docker volume', () => {
  it('creates, lists, inspects and removes, with Docker words for what is wrong', async () => {
    assert.equal((await docker('volume', 'create', '--label', 'app=web', 'vol-a')).stdout.trim(), 'vol-a');
    await docker('volume', 'create', '--label', 'app=db', 'vol-b');
    // creating an existing name answers the existing volume
    assert.equal((await docker('volume', 'create', 'vol-a')).stdout.trim(), 'vol-a');
    const [v] = JSON.parse((await docker('volume', 'inspect', 'vol-a')).stdout) as Array<Record<string, unknown>>;
    assert.equal(v!['Name'], 'vol-a');
    assert.equal(v!['Driver'], 'local');
    assert.equal(v!['Scope'], 'local');
    assert.deepEqual(v!['Labels'], { app: 'web' });
    assert.equal(v!['Mountpoint'], join(b.root, 'volumes/vol-a/_data'));
    assert.match(String(v!['CreatedAt']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    assert.equal(v!['UsageData'], undefined, 'no usage outside system df');
    assert.ok(statSync(String(v!['Mountpoint'])).isDirectory());

    assert.deepEqual(lines((await docker('volume', 'ls', '-q', '--filter', 'label=app=db')).stdout), ['vol-b']);
    assert.deepEqual(lines((await docker('volume', 'ls', '-q', '--filter', 'name=vol-')).stdout).sort(), ['vol-a', 'vol-b']);
    assert.deepEqual(lines((await docker('volume', 'ls', '-q', '--filter', 'driver=local', '--filter', 'label=app=web')).stdout), ['vol-a']);

    const bad = await run('volume', 'create', 'bad name');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /create bad name: "bad name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/);
    assert.match((await run('volume', 'create', '--opt', 'foo=bar', 'vol-c')).stderr, /create vol-c: invalid option: "foo"/);
    assert.match((await run('volume', 'inspect', 'no-such-vol')).stderr, /no such volume/i);
    assert.match((await run('volume', 'rm', 'no-such-vol')).stderr, /get no-such-vol: no such volume/);
    assert.equal((await run('volume', 'rm', '-f', 'no-such-vol')).code, 0, 'force: a missing volume is no error');

    await docker('volume', 'rm', 'vol-a', 'vol-b');
    assert.deepEqual(await volumes(), []);
  });

  it('keeps data written through a named volume for the next container, and refuses to remove a volume in use', async () => {
    await docker('run', '--rm', '-v', 'keep:/data', BUSYBOX, 'sh', '-c', 'echo kept > /data/file');
    assert.equal((await docker('run', '--rm', '-v', 'keep:/x', BUSYBOX, 'cat', '/x/file')).stdout, 'kept\n');
    const id = (await docker('create', '--name', 'user1', '-v', 'keep:/data', BUSYBOX, 'true')).stdout.trim();
    const inUse = await run('volume', 'rm', 'keep');
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, new RegExp(`remove keep: volume is in use - \\[${id}\\]`));
    assert.match((await run('volume', 'rm', '-f', 'keep')).stderr, /volume is in use/, 'force does not remove a volume in use');
    assert.deepEqual(lines((await docker('volume', 'ls', '-q', '--filter', 'dangling=false')).stdout), ['keep']);
    assert.deepEqual(lines((await docker('ps', '-aq', '--filter', 'volume=keep')).stdout), [id.slice(0, 12)]);
    await docker('rm', '-v', 'user1');
    assert.deepEqual(await volumes(), ['keep'], 'rm -v leaves named volumes');
    assert.deepEqual(lines((await docker('volume', 'ls', '-q', '--filter', 'dangling=true')).stdout), ['keep']);
    await docker('volume', 'rm', 'keep');
  });

  it('mounts a volume subpath, and refuses a missing or escaping one in Docker words', async () => {
    await docker('volume', 'create', 'sub-vol');
    await docker('run', '--rm', '-v', 'sub-vol:/v', BUSYBOX, 'sh', '-c', 'mkdir -p /v/sub/deeper && echo in-sub > /v/sub/f');
    const { stdout } = await docker('run', '--rm', '--mount', 'type=volume,src=sub-vol,dst=/d,volume-subpath=sub', BUSYBOX, 'sh', '-c', 'cat /d/f; ls /d');
    assert.equal(stdout, 'in-sub\ndeeper\nf\n');
    const missing = await run('run', '--rm', '--mount', 'type=volume,src=sub-vol,dst=/d,volume-subpath=missing', BUSYBOX, 'true');
    assert.match(missing.stderr, /error while mounting volume '.*\/volumes\/sub-vol\/_data': cannot access path .*\/missing: no such file or directory/);
    const escape = await run('run', '--rm', '--mount', 'type=volume,src=sub-vol,dst=/d,volume-subpath=../x', BUSYBOX, 'true');
    assert.match(escape.stderr, /subpath must be a relative path within the volume/);
    await docker('volume', 'rm', 'sub-vol');
  });

  it('enforces :ro and shows the mounts in inspect as Docker does', async () => {
    await docker('volume', 'create', 'ro-vol');
    const r = await run('run', '--rm', '-v', 'ro-vol:/data:ro', BUSYBOX, 'touch', '/data/x');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
    const host = tempDir('berth-bind-');
    try {
      await docker('create', '--name', 'm1', '-v', 'ro-vol:/data:ro', '-v', `${host}:/host`, '--mount', 'type=volume,source=mnt-vol,target=/m', '--mount', 'type=tmpfs,target=/t', BUSYBOX, 'true');
      const mounts = JSON.parse(await inspect('m1', '{{json .Mounts}}')) as Array<Record<string, unknown>>;
      const by = (dest: string) => mounts.find((m) => m['Destination'] === dest);
      assert.deepEqual(by('/data'), { Type: 'volume', Name: 'ro-vol', Source: join(b.root, 'volumes/ro-vol/_data'), Destination: '/data', Driver: 'local', Mode: 'ro', RW: false, Propagation: '' });
      assert.deepEqual(by('/m'), { Type: 'volume', Name: 'mnt-vol', Source: join(b.root, 'volumes/mnt-vol/_data'), Destination: '/m', Driver: 'local', Mode: 'z', RW: true, Propagation: '' });
      assert.deepEqual(by('/host'), { Type: 'bind', Source: host, Destination: '/host', Mode: '', RW: true, Propagation: 'rprivate' });
      assert.deepEqual(by('/t'), { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' });
      // a missing -v source is made at start, as Docker does; a missing --mount source is refused
      const made = join(host, 'made/deeper');
      await docker('run', '--rm', '-v', `${made}:/made`, BUSYBOX, 'sh', '-c', 'echo kept > /made/f');
      assert.equal(readFileSync(join(made, 'f'), 'utf8'), 'kept\n');
      assert.equal(statSync(made).mode & 0o7777, 0o755);
      const refused = await run('run', '--rm', '--mount', `type=bind,source=${join(host, 'absent')},target=/a`, BUSYBOX, 'true');
      assert.match(refused.stderr, /bind source path does not exist: /);
      const dup = await run('create', '-v', 'a1:/same', '-v', '/tmp:/same', BUSYBOX, 'true');
      assert.match(dup.stderr, /Duplicate mount point: \/same/);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
    await docker('rm', 'm1');
    await docker('volume', 'rm', 'ro-vol', 'mnt-vol');
  });
});

describe('anonymous volumes', () => {
  it('come from -v /path and --mount without a source, and go with rm -v and run --rm', async () => {
    await docker('create', '--name', 'anon1', '-v', '/scratch', '--mount', 'type=volume,target=/other', BUSYBOX, 'true');
    const names = lines(await inspect('anon1', '{{range .Mounts}}{{.Name}}{{"\\n"}}{{end}}'));
    assert.equal(names.length, 2);
    for (const n of names) assert.match(n, /^[0-9a-f]{64}$/);
    assert.deepEqual(await volumes(), [...names].sort());
    const label = await docker('volume', 'inspect', '-f', '{{json .Labels}}', names[0]!);
    assert.equal(label.stdout.trim(), '{"com.docker.volume.anonymous":""}');
    await docker('rm', '-v', 'anon1');
    assert.deepEqual(await volumes(), []);

    await docker('run', '--rm', '-v', '/scratch', BUSYBOX, 'sh', '-c', 'echo x > /scratch/f');
    assert.deepEqual(await volumes(), [], 'run --rm removed its anonymous volume');
  });

  it('copy the image content at a VOLUME path; a plain run makes one for the image VOLUME', async () => {
    const r = await run('run', '--rm', '-v', 'newvol:/data', RICH, 'cat', '/data/seed.txt');
    assert.equal(r.stdout, 'seed data from the image\n', r.stderr);
    const data = join(b.root, 'volumes/newvol/_data');
    const root = statSync(data);
    assert.deepEqual([root.uid, root.gid], [1000, 1000]);
    const seed = statSync(join(data, 'seed.txt'));
    assert.deepEqual([seed.uid, seed.gid, seed.mode & 0o777], [1000, 1000, 0o644]);
    const sub = statSync(join(data, 'sub'));
    assert.deepEqual([sub.uid, sub.mode & 0o777], [1000, 0o700]);
    assert.equal(statSync(join(data, 'sub/nested.txt')).mode & 0o777, 0o600);
    // a volume that has content is not copied into again
    writeFileSync(join(data, 'seed.txt'), 'changed\n');
    assert.equal((await docker('run', '--rm', '-v', 'newvol:/data', RICH, 'cat', '/data/seed.txt')).stdout, 'changed\n');
    // nocopy: the volume stays empty
    const empty = await run('run', '--rm', '--mount', 'type=volume,source=nocopy-vol,target=/data,volume-nocopy', RICH, 'ls', '-A', '/data');
    assert.equal(empty.stdout, '', empty.stderr);

    const id = (await docker('run', '-d', RICH)).stdout.trim();
    const anon = await inspect(id, '{{range .Mounts}}{{.Name}} {{.Destination}}{{end}}');
    assert.match(anon, /^[0-9a-f]{64} \/data$/);
    assert.equal((await docker('exec', id, 'cat', '/data/seed.txt')).stdout, 'seed data from the image\n');
    await docker('rm', '-fv', id);
    assert.deepEqual(await volumes(), ['newvol', 'nocopy-vol']);
    await docker('volume', 'rm', 'newvol', 'nocopy-vol');
  });
});

describe('local driver options', () => {
  it('mounts a tmpfs volume while a container uses it, and unmounts it after the last one', async () => {
    await docker('volume', 'create', '--driver', 'local', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=2m,uid=1000', 'tmpvol');
    const data = join(b.root, 'volumes/tmpvol/_data');
    const df = await docker('run', '--rm', '-v', 'tmpvol:/t', BUSYBOX, 'sh', '-c', 'df -k /t | tail -1; stat -c %u /t');
    assert.match(df.stdout, /^tmpfs\s+2048\s/m);
    assert.match(df.stdout, /^1000$/m);
    assert.deepEqual(berthMounts(), [], 'unmounted when the container ended');
    const a = (await docker('run', '-d', '-v', 'tmpvol:/t', BUSYBOX, 'sleep', '600')).stdout.trim();
    const c = (await docker('run', '-d', '-v', 'tmpvol:/t', BUSYBOX, 'sleep', '600')).stdout.trim();
    await docker('exec', a, 'sh', '-c', 'echo shared > /t/f');
    assert.equal((await docker('exec', c, 'cat', '/t/f')).stdout, 'shared\n', 'both see one tmpfs');
    await docker('rm', '-f', a);
    assert.ok(berthMounts().includes(data), 'still mounted for the other user');
    await docker('rm', '-f', c);
    assert.ok(!berthMounts().includes(data), 'unmounted after the last user');
    assert.equal((await docker('volume', 'inspect', '-f', '{{json .Options}}', 'tmpvol')).stdout.trim(), '{"device":"tmpfs","o":"size=2m,uid=1000","type":"tmpfs"}');
    await docker('volume', 'rm', 'tmpvol');
  });

  it('binds a host directory with o=bind, never deletes through it, and reports a bad device at start', async () => {
    const host = tempDir('berth-volhost-');
    try {
      writeFileSync(join(host, 'from-host'), 'hi\n');
      await docker('volume', 'create', '--opt', 'type=none', '--opt', `device=${host}`, '--opt', 'o=bind', 'bindvol');
      const r = await docker('run', '--rm', '-v', 'bindvol:/b', BUSYBOX, 'sh', '-c', 'cat /b/from-host; echo back > /b/from-ctr');
      assert.equal(r.stdout, 'hi\n');
      assert.equal(readFileSync(join(host, 'from-ctr'), 'utf8'), 'back\n');
      // --mount with volume-opt makes the volume the same way
      await docker('run', '--rm', '--mount', `type=volume,source=bindvol2,target=/b,volume-driver=local,volume-opt=type=none,volume-opt=device=${host},volume-opt=o=bind`, BUSYBOX, 'ls', '/b');
      assert.equal((await docker('volume', 'inspect', '-f', '{{.Options.device}}', 'bindvol2')).stdout.trim(), host);
      await docker('volume', 'rm', 'bindvol', 'bindvol2');
      assert.deepEqual(readdirSync(host).sort(), ['from-ctr', 'from-host'], 'the host directory is untouched by the removal');

      await docker('volume', 'create', '--opt', 'type=none', '--opt', `device=${join(host, 'missing')}`, '--opt', 'o=bind', 'badvol');
      const bad = await run('run', '--rm', '-v', 'badvol:/b', BUSYBOX, 'true');
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /error while mounting volume '[^']*badvol\/_data': failed to mount local volume: mount [^:]*missing:[^,]*, flags: 0x1000: no such file or directory/);
      await docker('volume', 'rm', 'badvol');
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });
});

describe('volumes-from, prune, df and events', () => {
  it('shares another container volumes, read-only when asked', async () => {
    await docker('create', '--name', 'store', '-v', '/shared', '-v', 'named-shared:/named', BUSYBOX, 'true');
    await docker('run', '--rm', '--volumes-from', 'store', BUSYBOX, 'sh', '-c', 'echo one > /shared/f; echo two > /named/g');
    const r = await run('run', '--rm', '--volumes-from', 'store:ro', BUSYBOX, 'sh', '-c', 'cat /shared/f /named/g; touch /shared/x');
    assert.equal(r.stdout, 'one\ntwo\n');
    assert.match(r.stderr, /Read-only file system/);
    assert.match((await run('run', '--rm', '--volumes-from', 'nobody-here', BUSYBOX, 'true')).stderr, /No such container: nobody-here/);
    await docker('rm', '-v', 'store');
    assert.deepEqual(await volumes(), ['named-shared']);
    await docker('volume', 'rm', 'named-shared');
  });

  it('prunes unused anonymous volumes by default, all with --all, and respects filters', async () => {
    await docker('volume', 'create', '--label', 'keep=yes', 'p-named1');
    await docker('volume', 'create', 'p-named2');
    await docker('create', '--name', 'p-user', '-v', 'p-named2:/x', BUSYBOX, 'true');
    // an anonymous volume whose container is gone (rm without -v)
    await docker('create', '--name', 'p-anon', '-v', '/anon', BUSYBOX, 'true');
    const anon = await inspect('p-anon', '{{range .Mounts}}{{.Name}}{{end}}');
    await docker('rm', 'p-anon');
    await docker('run', '--rm', '-v', 'p-named1:/d', BUSYBOX, 'sh', '-c', 'head -c 1000 /dev/zero > /d/k');

    const df = JSON.parse((await py('print(json.dumps(client.df()["Volumes"]))')).stdout) as Array<{ Name: string; UsageData: { Size: number; RefCount: number } }>;
    const usage = (n: string) => df.find((v) => v.Name === n)?.UsageData;
    assert.deepEqual(usage('p-named1'), { Size: 1000, RefCount: 0 });
    assert.deepEqual(usage('p-named2'), { Size: 0, RefCount: 1 });

    const first = await docker('volume', 'prune', '-f');
    assert.match(first.stdout, new RegExp(anon));
    assert.deepEqual(await volumes(), ['p-named1', 'p-named2']);
    await docker('volume', 'prune', '-af', '--filter', 'label!=keep');
    assert.deepEqual(await volumes(), ['p-named1', 'p-named2'], 'label! kept p-named1; p-named2 is in use');
    const all = await docker('volume', 'prune', '-af');
    assert.match(all.stdout, /p-named1/);
    assert.match(all.stdout, /Total reclaimed space: 1kB/);
    assert.deepEqual(await volumes(), ['p-named2']);
    await docker('rm', 'p-user');
    // API 1.41 (docker-py's default here may be newer: ask for it) prunes named volumes too
    const old = JSON.parse((await py(`c = docker.APIClient(base_url='unix://${b.sock}', version='1.41')\nprint(json.dumps(c.prune_volumes()))`)).stdout) as { VolumesDeleted: string[] };
    assert.deepEqual(old.VolumesDeleted, ['p-named2']);
  });

  it('records create, mount, unmount and destroy events with Docker attributes', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await docker('volume', 'create', 'ev-vol');
    const id = (await docker('run', '-d', '-v', 'ev-vol:/e:ro', BUSYBOX, 'true')).stdout.trim();
    await docker('wait', id);
    await docker('rm', id);
    await docker('volume', 'rm', 'ev-vol');
    const out = await docker('events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'type=volume', '--filter', 'volume=ev-vol', '--format', '{{.Action}} {{json .Actor.Attributes}}');
    const evs = lines(out.stdout);
    assert.deepEqual(evs.map((l) => l.split(' ')[0]), ['create', 'mount', 'unmount', 'destroy']);
    assert.deepEqual(JSON.parse(evs[1]!.slice(6)), { container: id, destination: '/e', driver: 'local', propagation: '', 'read/write': 'false' });
    assert.deepEqual(JSON.parse(evs[2]!.slice(8)), { container: id, driver: 'local' });
    assert.deepEqual(JSON.parse(evs[0]!.slice(7)), { driver: 'local' });
  });

  it('serves docker-py volumes API', async () => {
    const out = await py(`
v = client.volumes.create(name='py-vol', driver='local', labels={'from': 'py'})
print(v.name, v.attrs['Labels']['from'], v.attrs['Driver'])
print(len(client.volumes.list(filters={'label': 'from=py'})))
print(client.volumes.get('py-vol').attrs['Mountpoint'].endswith('/volumes/py-vol/_data'))
client.containers.run('${BUSYBOX}', 'sh -c "echo py > /v/f"', volumes={'py-vol': {'bind': '/v', 'mode': 'rw'}}, remove=True)
print(client.containers.run('${BUSYBOX}', 'cat /v/f', volumes=['py-vol:/v:ro'], remove=True).decode().strip())
try:
    client.volumes.get('py-missing')
except docker.errors.NotFound as e:
    print('notfound', e.explanation)
v.remove()
print(len(client.volumes.list()))
`);
    assert.deepEqual(lines(out.stdout), ['py-vol py local', '1', 'True', 'py', 'notfound get py-missing: no such volume', '0']);
  });
});
