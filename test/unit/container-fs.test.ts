// Container paths resolved in the rootfs's scope, docker cp's tars out and in. The rootfs is a
// temp dir beside a "host" dir that hostile symlinks and tar entries aim at: nothing there may
// ever be read or written. Owners and device nodes need root.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, linkSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { archiveOf, exportRootfs, extractInto } from '../../src/engine/storage/archive-path.ts';
import { ContainerPathNotFound, containerAbsPath, goBase, goFileMode, resolveInRoot, rfc3339Nano, statPath } from '../../src/engine/storage/container-fs.ts';
import { tarHeader, tarPadding, TAR_END, T_DIR, T_LINK, T_REG, T_SYMLINK, type TarHeader } from '../../src/engine/storage/layer-tar.ts';
import { InvalidArgument } from '../../src/engine/errors.ts';
import { tempDir } from '../helpers/berth.ts';

const isRoot = process.getuid?.() === 0;
const work = tempDir('berth-container-fs-');
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** A rootfs and, beside it, a host dir with a secret that must stay out of reach. */
function world(): { root: string; host: string } {
  const base = join(work, String(n++));
  const root = join(base, 'rootfs');
  const host = join(base, 'host');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'data', 'sub'), { recursive: true });
  mkdirSync(host);
  writeFileSync(join(host, 'secret'), 'host secret\n');
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:50:\napp:x:1001:\n');
  writeFileSync(join(root, 'data', 'a.txt'), 'aaa\n');
  writeFileSync(join(root, 'data', 'sub', 'b.txt'), 'bbb\n');
  return { root, host };
}

async function bytes(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** GNU tar's listing of an archive: `type mode owner name[ -> target]`. */
function listing(tar: Buffer): string[] {
  const out = execFileSync('tar', ['-tv', '--numeric-owner', '-f', '-'], { input: tar }).toString();
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(/\s+/);
      return `${f[0]} ${f[1]} ${f.slice(5).join(' ')}`;
    });
}

const names = (tar: Buffer) => execFileSync('tar', ['-t', '-f', '-'], { input: tar }).toString().trim().split('\n');

function tarOf(entries: Array<Partial<TarHeader> & { name: string; data?: string }>): Readable {
  const chunks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const type = e.type ?? T_REG;
    chunks.push(tarHeader({ mode: 0o644, uid: 0, gid: 0, mtime: 1_600_000_000, ...e, type, size: type === T_REG ? data.length : 0 }));
    if (type === T_REG) chunks.push(data, tarPadding(data.length));
  }
  chunks.push(TAR_END);
  return Readable.from([Buffer.concat(chunks)]);
}

describe('resolveInRoot', () => {
  it('follows symlinks as if the rootfs were /', async () => {
    const { root, host } = world();
    symlinkSync('/', join(root, 'etc', 'up')); // `/etc/up -> /`
    symlinkSync('../../../..', join(root, 'data', 'climb')); // climbs far above the rootfs
    symlinkSync(host, join(root, 'abs')); // an absolute host path, meaningless inside
    symlinkSync('sub', join(root, 'data', 'rel'));
    assert.equal(await resolveInRoot(root, '/etc/up/etc/passwd'), join(root, 'etc/passwd'));
    assert.equal(await resolveInRoot(root, '/data/climb/etc/passwd'), join(root, 'etc/passwd'));
    assert.equal(await resolveInRoot(root, '../../../etc/passwd'), join(root, 'etc/passwd'));
    assert.equal(await resolveInRoot(root, '/abs/secret'), join(root, host.slice(1), 'secret'));
    assert.equal(await resolveInRoot(root, '/data/rel/b.txt'), join(root, 'data/sub/b.txt'));
    assert.equal(await resolveInRoot(root, '/data/rel/../a.txt'), join(root, 'data/a.txt'), '.. after a link goes up from its target');
  });

  it('leaves the last symlink unless asked, or unless the path ends in /', async () => {
    const { root } = world();
    symlinkSync('/data', join(root, 'link'));
    assert.equal(await resolveInRoot(root, '/link'), join(root, 'link'));
    assert.equal(await resolveInRoot(root, '/link', { followLast: true }), join(root, 'data'));
    assert.equal(await resolveInRoot(root, '/link/'), join(root, 'data'));
  });

  it('resolves paths that do not exist (yet) and refuses symlink loops', async () => {
    const { root } = world();
    assert.equal(await resolveInRoot(root, '/nope/x/../y'), join(root, 'nope/y'));
    symlinkSync('loop2', join(root, 'loop1'));
    symlinkSync('loop1', join(root, 'loop2'));
    await assert.rejects(resolveInRoot(root, '/loop1/x'), InvalidArgument);
  });
});

describe('statPath', () => {
  it("answers Docker's PathStat: Go file modes, RFC 3339 times, link targets in the container", async () => {
    const { root } = world();
    utimesSync(join(root, 'data', 'a.txt'), 1_700_000_000, 1_700_000_000.5);
    symlinkSync('/etc/../data/sub', join(root, 'link'));
    const file = await statPath(root, '/data/a.txt');
    assert.deepEqual(file, { name: 'a.txt', size: 4, mode: 0o644, mtime: '2023-11-14T22:13:20.5Z', linkTarget: '' });
    const dir = await statPath(root, '/data/');
    assert.equal(dir.name, 'data');
    assert.equal(dir.mode, 2 ** 31 + 0o755);
    const link = await statPath(root, '/link');
    assert.equal(link.mode, 2 ** 27 + 0o777);
    assert.equal(link.linkTarget, '/data/sub');
    assert.equal((await statPath(root, '/')).name, '/');
    await assert.rejects(statPath(root, '/data/missing'), ContainerPathNotFound);
    await assert.rejects(statPath(root, '/data/a.txt/x'), ContainerPathNotFound);
  });

  it('does not stat through a symlink to the host', async () => {
    const { root, host } = world();
    symlinkSync(host, join(root, 'hostlink'));
    await assert.rejects(statPath(root, '/hostlink/secret'), ContainerPathNotFound);
  });

  it('helpers: Go FileMode bits, base names, absolute paths, times', () => {
    assert.equal(goFileMode(0o104755), 2 ** 23 + 0o755); // setuid
    assert.equal(goFileMode(0o041777), 2 ** 31 + 2 ** 20 + 0o777); // sticky dir
    assert.equal(goFileMode(0o020666), 2 ** 26 + 2 ** 21 + 0o666); // char device
    assert.equal(goFileMode(0o010644), 2 ** 25 + 0o644);
    assert.equal(goBase('/a/b/'), 'b');
    assert.equal(goBase('/a/.'), '.');
    assert.equal(goBase('/'), '/');
    assert.equal(containerAbsPath('a/../b/'), '/b/');
    assert.equal(containerAbsPath('/x/y/.'), '/x/y/.');
    assert.equal(containerAbsPath('../..'), '/');
    assert.equal(rfc3339Nano(1_700_000_000_123_000_000n), '2023-11-14T22:13:20.123Z');
    assert.equal(rfc3339Nano(0n), '1970-01-01T00:00:00Z');
  });
});

describe('archiveOf', () => {
  it('names a directory by its basename, with owners, modes, symlinks and hardlinks', async () => {
    const { root } = world();
    symlinkSync('sub/b.txt', join(root, 'data', 'ln'));
    linkSync(join(root, 'data', 'a.txt'), join(root, 'data', 'hard'));
    if (isRoot) chownSync(join(root, 'data', 'sub', 'b.txt'), 1000, 1001);
    const { stat, tar } = await archiveOf(root, '/data');
    assert.equal(stat.name, 'data');
    const list = listing(await bytes(tar));
    assert.deepEqual(list, [
      'drwxr-xr-x 0/0 data/',
      '-rw-r--r-- 0/0 data/a.txt',
      'hrw-r--r-- 0/0 data/hard link to data/a.txt',
      'lrwxrwxrwx 0/0 data/ln -> sub/b.txt',
      'drwxr-xr-x 0/0 data/sub/',
      `-rw-r--r-- ${isRoot ? '1000/1001' : '0/0'} data/sub/b.txt`,
    ].map((l) => (isRoot ? l : l.replace(/ 0\/0 /, ` ${process.getuid!()}/${process.getgid!()} `))));
  });

  it('copies the contents for dir/., a single file by its name, the root as /', async () => {
    const { root } = world();
    assert.deepEqual(names(await bytes((await archiveOf(root, '/data/.')).tar)), ['./', './a.txt', './sub/', './sub/b.txt']);
    assert.deepEqual(names(await bytes((await archiveOf(root, '/data/sub/b.txt')).tar)), ['b.txt']);
    const all = names(await bytes((await archiveOf(root, '/')).tar));
    assert.equal(all[0], '/');
    assert.ok(all.includes('/etc/passwd'));
  });

  it('archives a symlink as itself, and what it points to with a trailing /', async () => {
    const { root } = world();
    symlinkSync('/data/sub', join(root, 'link'));
    const self = await archiveOf(root, '/link');
    assert.deepEqual(listing(await bytes(self.tar)).map((l) => l.split(' ').slice(2).join(' ')), ['link -> /data/sub']);
    const followed = await archiveOf(root, '/link/');
    assert.equal(Math.floor(followed.stat.mode / 2 ** 31), 1, 'a directory');
    assert.deepEqual(names(await bytes(followed.tar)), ['link/', 'link/b.txt']);
  });

  it('never reads the host through a symlink, wherever it is in the path', async () => {
    const { root, host } = world();
    symlinkSync(host, join(root, 'data', 'h'));
    symlinkSync('../../../../../../../../' + host, join(root, 'data', 'h2'));
    await assert.rejects(archiveOf(root, '/data/h/secret'), ContainerPathNotFound);
    await assert.rejects(archiveOf(root, '/data/h2/secret'), ContainerPathNotFound);
    await assert.rejects(archiveOf(root, '/data/h2/'), ContainerPathNotFound);
    await assert.rejects(archiveOf(root, '/missing'), ContainerPathNotFound);
  });

  it('exports the whole rootfs without a root entry', async () => {
    const { root } = world();
    const list = names(await bytes(exportRootfs(root)));
    assert.deepEqual(list, ['data/', 'data/a.txt', 'data/sub/', 'data/sub/b.txt', 'etc/', 'etc/group', 'etc/passwd']);
  });
});

describe('extractInto', () => {
  it('extracts files, dirs, symlinks and hardlinks, merging existing dirs', async () => {
    const { root } = world();
    await extractInto(root, '/data', tarOf([
      { name: 'sub/', type: T_DIR, mode: 0o700, mtime: 1_500_000_000 },
      { name: 'sub/new.txt', data: 'new\n', mode: 0o600, uid: 1000, gid: 1001 },
      { name: 'deep/er/file', data: 'implied parents\n' },
      { name: 'sl', type: T_SYMLINK, linkname: '/etc/passwd' },
      { name: 'hl', type: T_LINK, linkname: 'sub/new.txt', mode: 0o600, uid: 1000, gid: 1001 },
    ]));
    assert.equal(readFileSync(join(root, 'data/sub/b.txt'), 'utf8'), 'bbb\n', 'merged, not replaced');
    assert.equal(readFileSync(join(root, 'data/sub/new.txt'), 'utf8'), 'new\n');
    assert.equal(statSync(join(root, 'data/sub')).mode & 0o777, 0o700);
    assert.equal(Math.floor(statSync(join(root, 'data/sub')).mtimeMs / 1000), 1_500_000_000, 'directory times set last');
    assert.equal(statSync(join(root, 'data/sub/new.txt')).mode & 0o777, 0o600);
    if (isRoot) assert.equal(`${statSync(join(root, 'data/sub/new.txt')).uid}:${statSync(join(root, 'data/sub/new.txt')).gid}`, '1000:1001');
    assert.equal(statSync(join(root, 'data/deep/er')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(root, 'data/sl')), '/etc/passwd');
    assert.equal(statSync(join(root, 'data/hl')).ino, statSync(join(root, 'data/sub/new.txt')).ino);
  });

  it('imposes an owner when asked (copyUIDGID)', { skip: !isRoot }, async () => {
    const { root } = world();
    await extractInto(root, '/data', tarOf([{ name: 'x', data: 'x', uid: 5, gid: 6 }, { name: 'd/', type: T_DIR }]), { owner: { uid: 1000, gid: 1001 } });
    assert.equal(statSync(join(root, 'data/x')).uid, 1000);
    assert.equal(statSync(join(root, 'data/d')).gid, 1001);
  });

  it("refuses dir over non-dir and the reverse with noOverwriteDirNonDir, in Docker's words", async () => {
    const { root } = world();
    await assert.rejects(extractInto(root, '/data', tarOf([{ name: 'a.txt/', type: T_DIR }]), { noOverwriteDirNonDir: true }), {
      message: 'cannot overwrite non-directory "a.txt" with directory "/data"',
    });
    await assert.rejects(extractInto(root, '/data', tarOf([{ name: 'sub', data: 'file' }]), { noOverwriteDirNonDir: true }), {
      message: 'cannot overwrite directory "sub" with non-directory "/data"',
    });
    // without it, the entry replaces what was there
    await extractInto(root, '/data', tarOf([{ name: 'sub', data: 'file' }, { name: 'a.txt/', type: T_DIR }]));
    assert.equal(readFileSync(join(root, 'data/sub'), 'utf8'), 'file');
    assert.ok(lstatSync(join(root, 'data/a.txt')).isDirectory());
  });

  it('answers for a missing or non-directory destination', async () => {
    const { root } = world();
    await assert.rejects(extractInto(root, '/nope', tarOf([])), ContainerPathNotFound);
    await assert.rejects(extractInto(root, '/data/a.txt', tarOf([])), { message: 'extraction point is not a directory' });
  });

  it('extracts through a symlinked destination, in the rootfs', async () => {
    const { root, host } = world();
    symlinkSync(host, join(root, 'to-host'));
    await assert.rejects(extractInto(root, '/to-host', tarOf([{ name: 'pwned', data: 'x' }])), ContainerPathNotFound);
    assert.ok(!existsSync(join(host, 'pwned')));
    symlinkSync('/data/sub', join(root, 'to-sub'));
    await extractInto(root, '/to-sub', tarOf([{ name: 'via-link', data: 'ok' }]));
    assert.equal(readFileSync(join(root, 'data/sub/via-link'), 'utf8'), 'ok');
  });

  it('keeps hostile archives inside: ../ entries, a symlink then a file through it, hardlinks out', async () => {
    const { root, host } = world();
    await assert.rejects(extractInto(root, '/data', tarOf([{ name: '../../../host/pwned', data: 'x' }])), InvalidArgument);
    // a symlink to the host, then a file "through" it: resolved in the rootfs, so it lands there
    await extractInto(root, '/data', tarOf([
      { name: 'evil', type: T_SYMLINK, linkname: host },
      { name: 'evil/pwned', data: 'x' },
      { name: 'up', type: T_SYMLINK, linkname: '../../../../../../../../../..' + host },
      { name: 'up/pwned2', data: 'y' },
    ]));
    assert.ok(!existsSync(join(host, 'pwned')) && !existsSync(join(host, 'pwned2')));
    assert.equal(readFileSync(join(root, host.slice(1), 'pwned'), 'utf8'), 'x');
    assert.equal(readFileSync(join(root, host.slice(1), 'pwned2'), 'utf8'), 'y');
    // the symlink entry itself is replaced by a later file, not written through
    writeFileSync(join(root, 'etc', 'keep'), 'keep');
    await extractInto(root, '/data', tarOf([{ name: 'k', type: T_SYMLINK, linkname: '/etc/keep' }, { name: 'k', data: 'over' }]));
    assert.equal(readFileSync(join(root, 'etc/keep'), 'utf8'), 'keep');
    assert.equal(readFileSync(join(root, 'data/k'), 'utf8'), 'over');
    await assert.rejects(extractInto(root, '/data', tarOf([{ name: 'h', type: T_LINK, linkname: '../../host/secret' }])), InvalidArgument);
    assert.equal(statSync(join(host, 'secret')).nlink, 1);
  });

  it('takes gzip archives', async () => {
    const { root } = world();
    const { gzipSync } = await import('node:zlib');
    const plain = await bytes(tarOf([{ name: 'z.txt', data: 'zipped' }]));
    await extractInto(root, '/', Readable.from([gzipSync(plain)]));
    assert.equal(readFileSync(join(root, 'z.txt'), 'utf8'), 'zipped');
  });

  it('round-trips what archiveOf made', async () => {
    const { root } = world();
    symlinkSync('a.txt', join(root, 'data', 'ln'));
    const { tar } = await archiveOf(root, '/data');
    mkdirSync(join(root, 'copy'));
    await extractInto(root, '/copy', tar);
    assert.equal(readFileSync(join(root, 'copy/data/sub/b.txt'), 'utf8'), 'bbb\n');
    assert.equal(readlinkSync(join(root, 'copy/data/ln')), 'a.txt');
  });
});
