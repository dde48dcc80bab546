// A container's filesystem through real clients: `docker cp` both ways on stopped and running
// containers, the stat header docker-py reads, `docker diff`, `docker export`, and archives that
// try to write outside the container.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { tarHeader, tarPadding, TAR_END, T_REG, T_SYMLINK } from '../../src/engine/storage/layer-tar.ts';
import { startBerth, tempDir, type Berth } from '../helpers/berth.ts';
import { dockerCli, dockerFor, dockerPyFor, startRegistries } from '../helpers/fixtures.ts';

const exec = promisify(execFile);
const REGISTRY = 5361;
const R = `127.0.0.1:${REGISTRY}`;

let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let py: ReturnType<typeof dockerPyFor>;
let registries: { stop(): void } | undefined;
let work: string;

const sh = (script: string, input?: Buffer) =>
  new Promise<{ stdout: Buffer; stderr: string }>((resolve, reject) => {
    const child = execFile('sh', ['-c', script], { env: { ...process.env, DOCKER_HOST: `unix://${b.sock}`, DOCKER_CONFIG: b.dir }, encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { stderr: stderr.toString() })) : resolve({ stdout, stderr: stderr.toString() }),
    );
    if (input) child.stdin!.end(input);
    else child.stdin!.end();
  });

const fails = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return e.stderr || e.message;
  }
  assert.fail('expected the command to fail');
};

interface Stat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** A tar made by hand, for what no tar tool writes on purpose. */
function tarOf(entries: Array<{ name: string; type?: number; linkname?: string; data?: string }>): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const type = e.type ?? T_REG;
    out.push(tarHeader({ name: e.name, type, mode: 0o644, uid: 0, gid: 0, mtime: 1_600_000_000, linkname: e.linkname, size: type === T_REG ? data.length : 0 }));
    if (type === T_REG) out.push(data, tarPadding(data.length));
  }
  out.push(TAR_END);
  return Buffer.concat(out);
}

before(async () => {
  registries = startRegistries([['start', REGISTRY]]);
  b = await startBerth();
  docker = dockerFor(b);
  py = dockerPyFor(b);
  work = tempDir('berth-cp-');
  await docker('pull', `${R}/library/busybox`);
  await docker('tag', `${R}/library/busybox`, 'busybox');
});

after(async () => {
  await docker?.('rm', '-f', 'cp-run').catch(() => undefined);
  await b?.stop();
  registries?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('docker cp, diff and export', { skip: dockerCli ? false : 'no docker CLI' }, () => {
  it('copies a file and a directory into a created container and back out', async () => {
    await docker('create', '--name', 'cp-stopped', 'busybox', 'true');
    writeFileSync(join(work, 'hello.txt'), 'hello from the host\n');
    mkdirSync(join(work, 'tree', 'sub'), { recursive: true });
    writeFileSync(join(work, 'tree', 'sub', 'deep.txt'), 'deep\n');
    await docker('cp', join(work, 'hello.txt'), 'cp-stopped:/tmp/');
    await docker('cp', join(work, 'tree'), 'cp-stopped:/home/tree'); // busybox has /home but no /opt
    await docker('cp', join(work, 'hello.txt'), 'cp-stopped:/renamed.txt'); // a new name in an existing dir

    const back = join(work, 'back');
    mkdirSync(back);
    await docker('cp', 'cp-stopped:/tmp/hello.txt', join(back, 'hello.txt'));
    await docker('cp', 'cp-stopped:/home/tree', join(back, 'tree'));
    await docker('cp', 'cp-stopped:/renamed.txt', back);
    assert.equal(readFileSync(join(back, 'hello.txt'), 'utf8'), 'hello from the host\n');
    assert.equal(readFileSync(join(back, 'tree', 'sub', 'deep.txt'), 'utf8'), 'deep\n');
    assert.equal(readFileSync(join(back, 'renamed.txt'), 'utf8'), 'hello from the host\n');
  });

  it('streams a tar to stdout, named by the basename, with the image content', async () => {
    const { stdout } = await sh('docker cp cp-stopped:/etc/passwd - | tar -t');
    assert.equal(stdout.toString().trim(), 'passwd');
    const dir = (await sh('docker cp cp-stopped:/home/tree/. - | tar -t')).stdout.toString().trim().split('\n');
    assert.deepEqual(dir, ['./', './sub/', './sub/deep.txt']);
    const bin = (await sh('docker cp cp-stopped:/bin/busybox - | tar -tv')).stdout.toString();
    assert.match(bin, /^-rwxr-xr-x .* busybox\n$/);
  });

  it("answers Docker's errors for missing paths and read-only containers", async () => {
    assert.match(await fails(docker('cp', 'cp-stopped:/no/such/file', work)), /Could not find the file \/no\/such\/file in container cp-stopped/);
    await docker('create', '--name', 'cp-ro', '--read-only', 'busybox', 'true');
    assert.match(await fails(docker('cp', join(work, 'hello.txt'), 'cp-ro:/tmp/')), /container rootfs is marked read-only/);
    // (with a trailing slash the CLI, which ignores its stat's 404, says "no such directory" itself)
    assert.match(await fails(docker('cp', join(work, 'hello.txt'), 'cp-nope:/tmp/hello.txt')), /No such container: cp-nope/);
  });

  it("gives docker-py the path's stat (Go file modes, link targets)", async () => {
    const { stdout } = await py(`
_, f = client.api.get_archive('cp-stopped', '/tmp/hello.txt')
_, d = client.api.get_archive('cp-stopped', '/home/tree')
print(json.dumps([f, d]))`);
    const [f, d] = JSON.parse(stdout) as [Stat, Stat];
    assert.equal(f.name, 'hello.txt');
    assert.equal(f.size, 'hello from the host\n'.length);
    assert.equal(f.mode & 0o777, 0o644);
    assert.match(f.mtime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    assert.equal(d.name, 'tree');
    assert.equal(Math.floor(d.mode / 2 ** 31), 1, 'the directory bit of a Go FileMode');
  });

  it('lists the changes with docker diff', async () => {
    const lines = (await docker('diff', 'cp-stopped')).stdout.trim().split('\n');
    for (const l of ['C /tmp', 'A /tmp/hello.txt', 'C /home', 'A /home/tree', 'A /home/tree/sub/deep.txt', 'A /renamed.txt']) assert.ok(lines.includes(l), `${l} in ${lines.join(', ')}`);
    assert.ok(!lines.some((l) => /^[ACD] \/(proc|sys|dev|etc\/hosts)$/.test(l)), `no runtime mount points: ${lines.join(', ')}`);
  });

  it('exports the whole filesystem', async () => {
    const names = (await sh('docker export cp-stopped | tar -t')).stdout.toString().split('\n');
    for (const n of ['bin/', 'bin/busybox', 'etc/passwd', 'tmp/hello.txt', 'home/tree/sub/deep.txt']) assert.ok(names.includes(n), n);
    assert.ok(!names.includes('./') && !names.includes('/'));
  });

  it('copies in and out of a running container', async () => {
    await docker('run', '-d', '--name', 'cp-run', 'busybox', 'sleep', '1000');
    await docker('cp', join(work, 'hello.txt'), 'cp-run:/root/');
    const { stdout } = await sh('docker cp cp-run:/root/hello.txt - | tar -xO');
    assert.equal(stdout.toString(), 'hello from the host\n');
    const lines = (await docker('diff', 'cp-run')).stdout.trim().split('\n');
    assert.ok(lines.includes('A /root/hello.txt'), lines.join(', '));
  });

  it('reaches volumes and binds as the container sees them, running or stopped', async () => {
    const host = join(work, 'bound');
    mkdirSync(host);
    await docker('run', '-d', '--name', 'cp-vol', '-v', 'cp-data:/data', '-v', `${host}:/bound`, '-v', 'cp-ro:/ro:ro', '--read-only', 'busybox', 'sleep', '1000');
    try {
      // into a running container's volume: the container sees it, and so does the next user of the volume
      await docker('cp', join(work, 'hello.txt'), 'cp-vol:/data/');
      assert.equal((await docker('exec', 'cp-vol', 'cat', '/data/hello.txt')).stdout, 'hello from the host\n');
      await docker('exec', 'cp-vol', 'sh', '-c', 'mkdir /data/made && echo made inside > /data/made/f && echo bound > /bound/b');
      // out of it: the volume's own content, the mount point named as in the container
      const listed = (await sh('docker cp cp-vol:/data - | tar -t')).stdout.toString().trim().split('\n').sort();
      assert.deepEqual(listed, ['data/', 'data/hello.txt', 'data/made/', 'data/made/f']);
      assert.equal((await sh('docker cp cp-vol:/bound/b - | tar -xO')).stdout.toString(), 'bound\n');
      // a bind writes to the host directory
      await docker('cp', join(work, 'hello.txt'), 'cp-vol:/bound/in.txt');
      assert.equal(readFileSync(join(host, 'in.txt'), 'utf8'), 'hello from the host\n');
      // Docker's refusals: a read-only volume, and the read-only rootfs outside the mounts
      assert.match(await fails(docker('cp', join(work, 'hello.txt'), 'cp-vol:/ro/')), /mounted volume is marked read-only/);
      assert.match(await fails(docker('cp', join(work, 'hello.txt'), 'cp-vol:/tmp/')), /container rootfs is marked read-only/);
      // a link in a volume is followed in the container's scope, and .. from a mount's top lands in the rootfs
      await docker('exec', 'cp-vol', 'ln', '-s', '/etc', '/data/etc-link');
      const passwd = (await sh('docker cp cp-vol:/data/etc-link/passwd - | tar -xO')).stdout.toString();
      assert.match(passwd, /^root:x:0:0:root:\/root:\/bin\/sh$/m);
      assert.equal((await sh('docker cp cp-vol:/data/../etc/passwd - | tar -xO')).stdout.toString(), passwd);

      // the generated etc files, as the container has them (not the image's)
      const hostname = (await docker('exec', 'cp-vol', 'hostname')).stdout.trim();
      assert.equal((await sh('docker cp cp-vol:/etc/hostname - | tar -xO')).stdout.toString().trim(), hostname);
      assert.equal((await sh('docker cp cp-vol:/etc/hosts - | tar -xO')).stdout.toString(), (await docker('exec', 'cp-vol', 'cat', '/etc/hosts')).stdout);
      const etc = (await sh('docker cp cp-vol:/etc - | tar -xO etc/resolv.conf')).stdout.toString();
      assert.equal(etc, (await docker('exec', 'cp-vol', 'cat', '/etc/resolv.conf')).stdout);

      // stopped: the volume is still what cp reads and writes
      await docker('stop', '-t', '0', 'cp-vol');
      await docker('cp', join(work, 'hello.txt'), 'cp-vol:/data/made/again.txt');
      const { stdout } = await docker('run', '--rm', '-v', 'cp-data:/d', 'busybox', 'cat', '/d/made/again.txt', '/d/made/f');
      assert.equal(stdout, 'hello from the host\nmade inside\n');
    } finally {
      await docker('rm', '-fv', 'cp-vol').catch(() => undefined);
      await docker('volume', 'rm', 'cp-data', 'cp-ro').catch(() => undefined);
    }
  });

  it('keeps a hostile archive inside the container', async () => {
    // a symlink to the host's / and a file "through" it: the file must land in the container's /
    const marker = `berth-cp-escape-${process.pid}`;
    const evil = tarOf([
      { name: 'evil', type: T_SYMLINK, linkname: '/' },
      { name: `evil/${marker}`, data: 'inside\n' },
    ]);
    await sh('docker cp - cp-run:/tmp', evil);
    assert.ok(!existsSync(`/${marker}`), 'nothing written on the host');
    const { stdout } = await sh(`docker cp cp-run:/${marker} - | tar -xO`);
    assert.equal(stdout.toString(), 'inside\n');
    // and reading through a link to / reads the container's files
    const passwd = (await sh('docker cp cp-run:/tmp/evil/etc/passwd - | tar -xO')).stdout.toString();
    assert.match(passwd, /^root:x:0:0:root:\/root:\/bin\/sh$/m);
    assert.notEqual(passwd, readFileSync('/etc/passwd', 'utf8'));
    const escape = tarOf([{ name: '../../../../../' + marker, data: 'x' }]);
    assert.match(await fails(sh('docker cp - cp-run:/tmp', escape)), /invalid entry name/);
    assert.ok(!existsSync(`/${marker}`));
  });
});
