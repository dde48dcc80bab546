// docker diff from an overlay upper dir: real directories laid out as overlay leaves them
// (whiteouts are 0:0 character devices, opaque dirs carry trusted.overlay.opaque=y), so root only.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { changes } from '../../src/engine/storage/changes.ts';
import { lsetxattr, mknod, S_IFCHR } from '../../src/sys/libc.ts';
import { tempDir } from '../helpers/berth.ts';

const isRoot = process.getuid?.() === 0;
const work = tempDir('berth-changes-');
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function dirs(): { upper: string; lower1: string; lower2: string } {
  const base = join(work, String(n++));
  const d = { upper: join(base, 'upper'), lower1: join(base, 'l1'), lower2: join(base, 'l2') };
  for (const p of Object.values(d)) mkdirSync(p, { recursive: true });
  return d;
}

/** Same metadata as the lower's copy, as overlay's copy-up leaves a directory. */
function copyUp(lower: string, upper: string, rel: string): void {
  mkdirSync(join(upper, rel), { recursive: true });
  // the new directory changed its parents' mtimes: copy theirs again too
  for (let r = rel; r !== '.'; r = join(r, '..')) {
    const st = statSync(join(lower, r));
    utimesSync(join(upper, r), st.atime, st.mtime);
  }
}

const whiteout = (path: string) => mknod(path, S_IFCHR, 0, 0);
const show = (cs: Array<{ Path: string; Kind: number }>) => cs.map((c) => `${'CAD'[c.Kind]} ${c.Path}`);

describe('changes', { skip: !isRoot && 'needs root (mknod, trusted.* xattrs)' }, () => {
  it("reports added, modified and deleted paths in Docker's order, parents as modified", async () => {
    const { upper, lower1, lower2 } = dirs();
    // lower2 is the bottom layer, lower1 above it
    mkdirSync(join(lower2, 'etc'));
    writeFileSync(join(lower2, 'etc', 'passwd'), 'root\n');
    writeFileSync(join(lower2, 'etc', 'motd'), 'hi\n');
    mkdirSync(join(lower1, 'usr', 'bin'), { recursive: true });
    writeFileSync(join(lower1, 'usr', 'bin', 'tool'), 'x');
    utimesSync(join(lower2, 'etc'), 1_600_000_000, 1_600_000_000);
    utimesSync(join(lower1, 'usr'), 1_600_000_000, 1_600_000_000);
    utimesSync(join(lower1, 'usr', 'bin'), 1_600_000_000, 1_600_000_000);

    copyUp(lower2, upper, 'etc'); // unchanged metadata: reported only as a parent
    writeFileSync(join(upper, 'etc', 'passwd'), 'root\napp\n'); // modified
    whiteout(join(upper, 'etc', 'motd')); // deleted
    copyUp(lower1, upper, 'usr');
    copyUp(lower1, upper, 'usr/bin');
    writeFileSync(join(upper, 'usr', 'bin', 'new'), 'y'); // added
    mkdirSync(join(upper, 'tmp', 'deep'), { recursive: true }); // an added tree
    writeFileSync(join(upper, 'tmp', 'deep', 'f'), 'z');
    symlinkSync('/nowhere', join(upper, 'link')); // added, never followed

    assert.deepEqual(show(await changes(upper, [lower1, lower2])), [
      'C /etc',
      'D /etc/motd',
      'C /etc/passwd',
      'A /link',
      'A /tmp',
      'A /tmp/deep',
      'A /tmp/deep/f',
      'C /usr/bin',
      'A /usr/bin/new',
    ]);
  });

  it('reports a touched directory as modified, and an unchanged one not at all', async () => {
    const { upper, lower1 } = dirs();
    mkdirSync(join(lower1, 'a'));
    mkdirSync(join(lower1, 'b'));
    utimesSync(join(lower1, 'a'), 1_600_000_000, 1_600_000_000);
    utimesSync(join(lower1, 'b'), 1_600_000_000, 1_600_000_000);
    copyUp(lower1, upper, 'a');
    copyUp(lower1, upper, 'b');
    utimesSync(join(upper, 'b'), 1_700_000_000, 1_700_000_000);
    assert.deepEqual(show(await changes(upper, [lower1])), ['C /b']);
  });

  it('takes an opaque directory as deleted, and what it holds as added', async () => {
    const { upper, lower1 } = dirs();
    mkdirSync(join(lower1, 'var', 'cache'), { recursive: true });
    writeFileSync(join(lower1, 'var', 'cache', 'old'), 'o');
    copyUp(lower1, upper, 'var');
    mkdirSync(join(upper, 'var', 'cache'));
    lsetxattr(join(upper, 'var', 'cache'), 'trusted.overlay.opaque', 'y');
    writeFileSync(join(upper, 'var', 'cache', 'old'), 'n'); // in the lower too, but hidden there
    assert.deepEqual(show(await changes(upper, [lower1])), ['C /var', 'D /var/cache', 'A /var/cache/old']);
  });

  it('sees lower layers as overlay merges them: whiteouts and opaque dirs hide what is below', async () => {
    const { upper, lower1, lower2 } = dirs();
    writeFileSync(join(lower2, 'gone'), 'g');
    whiteout(join(lower1, 'gone')); // deleted by the upper image layer
    mkdirSync(join(lower2, 'opq'));
    writeFileSync(join(lower2, 'opq', 'hidden'), 'h');
    mkdirSync(join(lower1, 'opq'));
    lsetxattr(join(lower1, 'opq'), 'trusted.overlay.opaque', 'y');
    utimesSync(join(lower1, 'opq'), 1_600_000_000, 1_600_000_000);
    writeFileSync(join(upper, 'gone'), 'again');
    copyUp(lower1, upper, 'opq');
    writeFileSync(join(upper, 'opq', 'hidden'), 'again');
    assert.deepEqual(show(await changes(upper, [lower1, lower2])), ['A /gone', 'C /opq', 'A /opq/hidden']);
  });

  it('leaves out what the runtime made for itself, and the mtime it gave their directory', async () => {
    const { upper, lower1 } = dirs();
    mkdirSync(join(lower1, 'etc'));
    utimesSync(join(lower1, 'etc'), 1_600_000_000, 1_600_000_000);
    mkdirSync(join(upper, 'etc'));
    writeFileSync(join(upper, 'etc', 'hosts'), '');
    mkdirSync(join(upper, 'proc'));
    assert.deepEqual(show(await changes(upper, [lower1], { skip: new Set(['/etc/hosts', '/proc']) })), []);
    assert.deepEqual(show(await changes(upper, [lower1])), ['C /etc', 'A /etc/hosts', 'A /proc']);
  });
});
