// Config.User → the uid, gid and groups the container's process runs with, read from the
// image's /etc/passwd and /etc/group the way runc's and Docker's user lookups do. The rootfs is
// untrusted: every symlink on the way to a file is resolved as if the rootfs were `/`, so a
// link to /etc/shadow or ../../ reads the container's file (or nothing), never the host's.
import { constants, promises as fs } from 'node:fs';
import { resolveInRoot as resolveContainerPath } from '../storage/container-fs.ts';
import { InvalidArgument } from '../errors.ts';

export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

const MAX_ID = 2 ** 31 - 1;

/**
 * `path` (absolute, as seen inside the container) as a host path under `root`, every symlink
 * (the last one too) resolved inside `root`: the one rule of src/engine/storage/container-fs.ts.
 */
export function resolveInRoot(root: string, path: string): Promise<string> {
  return resolveContainerPath(root, path, { followLast: true });
}

/** A file of the rootfs as text, or undefined when it is absent (or not a regular file). */
export async function readRootfsFile(root: string, path: string): Promise<string | undefined> {
  const host = await resolveInRoot(root, path);
  let fh: fs.FileHandle;
  try {
    // O_NOFOLLOW: the resolved path's last part was not a link a moment ago; refuse it if it is now
    fh = await fs.open(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw err;
  }
  try {
    if (!(await fh.stat()).isFile()) return undefined;
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function lines(text: string | undefined): string[][] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export function parsePasswd(text: string | undefined): PasswdEntry[] {
  return lines(text).map((f) => ({ name: f[0] ?? '', uid: toInt(f[2]), gid: toInt(f[3]), home: f[5] ?? '' }));
}

export function parseGroup(text: string | undefined): GroupEntry[] {
  return lines(text).map((f) => ({ name: f[0] ?? '', gid: toInt(f[2]), members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) }));
}

function toInt(s: string | undefined): number {
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : -1;
}

function numericId(s: string): number | undefined {
  if (!/^-?\d+$/.test(s)) return undefined;
  const n = Number(s);
  if (n < 0 || n > MAX_ID) throw new InvalidArgument(`uids and gids must be in range 0-${MAX_ID}`);
  return n;
}

/**
 * The identity of `user` (`name`, `uid`, `name:group`, `uid:gid`, …; empty = root) in the rootfs
 * at `root`: numeric ids need no passwd entry, names do. Without an explicit group the user's
 * supplementary groups come from /etc/group membership; GroupAdd (names or numbers) is added.
 * additionalGids starts with the primary gid, as Docker's do.
 */
export async function resolveUser(root: string, user: string | undefined, groupAdd?: readonly string[] | null): Promise<ExecUser> {
  const [passwdText, groupText] = await Promise.all([readRootfsFile(root, '/etc/passwd'), readRootfsFile(root, '/etc/group')]);
  return lookupUser(parsePasswd(passwdText), parseGroup(groupText), user, groupAdd);
}

/** resolveUser's logic on parsed files. */
export function lookupUser(passwd: PasswdEntry[], groups: GroupEntry[], user: string | undefined, groupAdd?: readonly string[] | null): ExecUser {
  const spec = user ?? '';
  const colon = spec.indexOf(':');
  const userArg = colon >= 0 ? spec.slice(0, colon) : spec;
  const groupArg = colon >= 0 ? spec.slice(colon + 1) : '';

  const out: ExecUser = { uid: 0, gid: 0, additionalGids: [], home: '/' };
  const uidArg = userArg === '' ? 0 : numericId(userArg);
  const entry = passwd.find((p) => (uidArg !== undefined ? p.uid === uidArg : p.name === userArg));
  if (entry) {
    out.uid = entry.uid;
    out.gid = entry.gid;
    out.home = entry.home || '/';
  } else if (uidArg !== undefined) {
    out.uid = uidArg;
  } else {
    throw new InvalidArgument(`unable to find user ${userArg}: no matching entries in passwd file`);
  }

  if (groupArg !== '') {
    const gidArg = numericId(groupArg);
    const g = groups.find((e) => (gidArg !== undefined ? e.gid === gidArg : e.name === groupArg));
    if (g) out.gid = g.gid;
    else if (gidArg !== undefined) out.gid = gidArg;
    else throw new InvalidArgument(`unable to find group ${groupArg}: no matching entries in group file`);
  }
  // Docker lists the primary group among the supplementary ones (`id` shows groups=0(root),10(wheel))
  out.additionalGids.push(out.gid);
  if (groupArg === '' && entry) {
    for (const g of groups) if (g.members.includes(entry.name) && !out.additionalGids.includes(g.gid)) out.additionalGids.push(g.gid);
  }

  for (const add of groupAdd ?? []) {
    const g = groups.find((e) => e.name === add || String(e.gid) === add);
    let gid: number;
    if (g) gid = g.gid;
    else {
      const n = /^\d+$/.test(add) ? numericId(add) : undefined;
      if (n === undefined) throw new InvalidArgument(`Unable to find group ${add}: no matching entries in group file`);
      gid = n;
    }
    if (!out.additionalGids.includes(gid)) out.additionalGids.push(gid);
  }
  return out;
}
