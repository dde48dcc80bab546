// Config.User against the image's /etc/passwd and /etc/group, in a rootfs that may be hostile.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readRootfsFile, resolveInRoot, resolveUser } from '../../src/engine/containers/user.ts';
import { tempDir } from '../helpers/berth.ts';

function fakeRootfs(): string {
  const root = tempDir();
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n# comment\nnobody:x:65534:65534::/nonexistent:/bin/false\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nwheel:x:10:root\napp:x:1000:\ndocker:x:999:app,other\nstaff:x:50:app\n');
  return root;
}

describe('resolveUser', () => {
  const root = fakeRootfs();
  it('is root with its groups when User is empty', async () => {
    assert.deepEqual(await resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' });
  });
  it('finds a name, its primary group, home and memberships', async () => {
    assert.deepEqual(await resolveUser(root, 'app'), { uid: 1000, gid: 1000, additionalGids: [1000, 999, 50], home: '/home/app' });
  });
  it('finds a uid in passwd, and takes a uid that is not there as is', async () => {
    assert.equal((await resolveUser(root, '1000')).home, '/home/app');
    assert.deepEqual(await resolveUser(root, '4242'), { uid: 4242, gid: 0, additionalGids: [0], home: '/' });
  });
  it('uid:gid, name:group and uid:group; an explicit group drops the memberships', async () => {
    assert.deepEqual(await resolveUser(root, '4242:4343'), { uid: 4242, gid: 4343, additionalGids: [4343], home: '/' });
    assert.deepEqual(await resolveUser(root, 'app:docker'), { uid: 1000, gid: 999, additionalGids: [999], home: '/home/app' });
    assert.deepEqual(await resolveUser(root, '0:staff'), { uid: 0, gid: 50, additionalGids: [50], home: '/root' });
  });
  it('adds GroupAdd by name or number', async () => {
    assert.deepEqual((await resolveUser(root, 'nobody', ['wheel', '777'])).additionalGids, [65534, 10, 777]);
  });
  it("says Docker's words for names that do not exist", async () => {
    await assert.rejects(resolveUser(root, 'ghost'), { message: 'unable to find user ghost: no matching entries in passwd file' });
    await assert.rejects(resolveUser(root, 'app:ghosts'), { message: 'unable to find group ghosts: no matching entries in group file' });
    await assert.rejects(resolveUser(root, 'app', ['ghosts']), { message: 'Unable to find group ghosts: no matching entries in group file' });
  });
  it('works without passwd or group for numeric ids, and root', async () => {
    const empty = tempDir();
    assert.deepEqual(await resolveUser(empty, '5:6'), { uid: 5, gid: 6, additionalGids: [6], home: '/' });
    assert.deepEqual(await resolveUser(empty, undefined), { uid: 0, gid: 0, additionalGids: [0], home: '/' });
  });
});

describe('a hostile rootfs', () => {
  it('resolves an absolute symlink to /etc/passwd inside the rootfs, never to the host file', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'etc'));
    mkdirSync(join(root, 'real'));
    writeFileSync(join(root, 'real/passwd'), 'evil:x:7:7::/evil:/bin/sh\n');
    // the host's /etc/passwd has root; this link must land on <root>/real/passwd instead
    symlinkSync('/real/passwd', join(root, 'etc/passwd'));
    assert.equal((await resolveUser(root, 'evil')).uid, 7);
    await assert.rejects(resolveUser(root, 'root'), /unable to find user root/);
  });
  it('keeps relative and .. links inside the rootfs', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'etc'));
    symlinkSync('../../../../../../../etc/passwd', join(root, 'etc/passwd'));
    // the link climbs to the rootfs' own /etc/passwd: itself, a loop, so nothing is read
    await assert.rejects(readRootfsFile(root, '/etc/passwd'), /too many symlinks/);
    symlinkSync('/', join(root, 'up'));
    assert.equal(await resolveInRoot(root, '/up/../up/etc/../../x'), join(root, 'x'));
  });
  it('resolves a symlinked /etc directory inside the rootfs', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'data/etc'), { recursive: true });
    writeFileSync(join(root, 'data/etc/group'), 'g:x:77:\n');
    symlinkSync('/data/etc', join(root, 'etc'));
    assert.deepEqual(await resolveUser(root, '1:g'), { uid: 1, gid: 77, additionalGids: [77], home: '/' });
  });
  it('ignores a passwd that is not a regular file', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'etc/passwd'), { recursive: true });
    assert.equal(await readRootfsFile(root, '/etc/passwd'), undefined);
  });
});
