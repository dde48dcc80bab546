// Finding a running container's cgroups from its pid, on cgroup v1 (one hierarchy per
// controller, possibly co-mounted) and v2 (one unified tree). The path comes from
// /proc/<pid>/cgroup, not from the spec's cgroupsPath, so this works wherever runc (or a
// cgroup parent, or systemd) put the container.
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Conflict } from '../errors.ts';

export type CgroupVersion = 1 | 2;

export interface ContainerCgroups {
  version: CgroupVersion;
  /**
   * Controller → the container's directory in that controller's hierarchy (v1: `cpu`,
   * `cpuacct`, `memory`, `pids`, `blkio`, …; named hierarchies as `name=systemd`). On v2 every
   * controller maps to the one unified directory, also under `unified`.
   */
  paths: Record<string, string>;
}

/** The process is gone: the container stopped between reading its record and its cgroups. */
export class ProcessGone extends Conflict {
  constructor(readonly pid: number) {
    super(`process ${pid} is not running`);
  }
}

const CGROUP_ROOT = '/sys/fs/cgroup';
const V2_CONTROLLERS = ['cpu', 'cpuset', 'io', 'memory', 'pids', 'hugetlb', 'rdma', 'misc'];

let cachedVersion: CgroupVersion | undefined;

/** 2 when the unified hierarchy is mounted at /sys/fs/cgroup itself; 1 for v1 and hybrid hosts. */
export function cgroupVersion(root = CGROUP_ROOT): CgroupVersion {
  if (root !== CGROUP_ROOT) return existsSync(join(root, 'cgroup.controllers')) ? 2 : 1;
  return (cachedVersion ??= existsSync(join(root, 'cgroup.controllers')) ? 2 : 1);
}

export interface ProcCgroupLine {
  hierarchy: number;
  /** Empty for the v2 line (`0::/path`). */
  controllers: string[];
  path: string;
}

/** /proc/<pid>/cgroup: `hierarchy-id:controller,list:path` per line. */
export function parseProcCgroup(text: string): ProcCgroupLine[] {
  const out: ProcCgroupLine[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const list = line.slice(first + 1, second);
    out.push({ hierarchy: Number(line.slice(0, first)), controllers: list ? list.split(',') : [], path: line.slice(second + 1) });
  }
  return out;
}

export interface CgroupMount {
  mountPoint: string;
  /** The hierarchy's directory that is mounted there (`/` unless a cgroup namespace or bind mount narrows it). */
  root: string;
  version: CgroupVersion;
  /** v1: the controllers (and `name=…`) in the mount's super options. */
  controllers: string[];
}

const unescapeMountField = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The cgroup and cgroup2 mounts in /proc/self/mountinfo. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(' ');
    const [fstype, , superOpts = ''] = line.slice(dash + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = unescapeMountField(pre[3] ?? '/');
    const mountPoint = unescapeMountField(pre[4] ?? '');
    const controllers = fstype === 'cgroup' ? superOpts.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent=') && o !== 'clone_children' && o !== 'noprefix' && o !== 'xattr') : [];
    out.push({ mountPoint, root, version: fstype === 'cgroup2' ? 2 : 1, controllers });
  }
  return out;
}

/** `path` (as /proc/<pid>/cgroup names it) under a mount of the hierarchy rooted at `mount.root`. */
function underMount(mount: CgroupMount, path: string): string {
  let rel = path;
  if (mount.root !== '/' && (rel === mount.root || rel.startsWith(`${mount.root}/`))) rel = rel.slice(mount.root.length) || '/';
  return posix.join(mount.mountPoint, rel);
}

/**
 * The directories of a process's cgroups, from its /proc/<pid>/cgroup and our mountinfo
 * (pure, for tests). A v1 controller without a mount found falls back to /sys/fs/cgroup/<name>.
 */
export function resolveCgroups(procCgroup: string, mounts: CgroupMount[], version: CgroupVersion, root = CGROUP_ROOT): ContainerCgroups {
  const lines = parseProcCgroup(procCgroup);
  const paths: Record<string, string> = {};
  if (version === 2) {
    const unified = lines.find((l) => l.hierarchy === 0 && l.controllers.length === 0);
    if (!unified) throw new Conflict('no cgroup v2 entry for the process');
    const mount = mounts.find((m) => m.version === 2 && m.mountPoint === root) ?? { mountPoint: root, root: '/', version: 2, controllers: [] };
    const dir = underMount(mount, unified.path);
    paths['unified'] = dir;
    for (const c of V2_CONTROLLERS) paths[c] = dir;
    return { version, paths };
  }
  for (const line of lines) {
    if (line.controllers.length === 0) {
      // the hybrid layout's v2 tree (no controllers in it on a v1 host, but named for completeness)
      const mount = mounts.find((m) => m.version === 2);
      if (mount) paths['unified'] = underMount(mount, line.path);
      continue;
    }
    for (const controller of line.controllers) {
      const mount = mounts.find((m) => m.version === 1 && m.controllers.includes(controller));
      paths[controller] = mount ? underMount(mount, line.path) : posix.join(root, controller, line.path);
    }
  }
  return { version, paths };
}

let cachedMounts: CgroupMount[] | undefined;

function cgroupMounts(): CgroupMount[] {
  // mounts of the cgroup hierarchies don't change while we run
  return (cachedMounts ??= parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')));
}

/** The cgroups of a running process (the container's init, `State.Pid`). */
export async function containerCgroups(pid: number): Promise<ContainerCgroups> {
  let text: string;
  try {
    text = await fs.readFile(`/proc/${pid}/cgroup`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') throw new ProcessGone(pid);
    throw err;
  }
  return resolveCgroups(text, cgroupMounts(), cgroupVersion());
}

/** The directory whose cgroup.procs lists a container's processes. */
export function procsDir(cg: ContainerCgroups): string | undefined {
  const p = cg.paths;
  return cg.version === 2 ? p['unified'] : (p['pids'] ?? p['memory'] ?? p['cpu'] ?? p['cpuacct'] ?? p['name=systemd'] ?? Object.values(p)[0]);
}

/** Every pid in a cgroup directory and the cgroups below it (a container may make sub-cgroups). */
export async function cgroupDirPids(dir: string): Promise<number[]> {
  const pids = new Set<number>();
  const walk = async (d: string): Promise<void> => {
    const text = await fs.readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const l of text.split('\n')) if (l.trim()) pids.add(Number(l));
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => walk(join(d, e.name))));
  };
  await walk(dir);
  return [...pids].sort((a, b) => a - b);
}

/** All pids in a container's cgroup, found from its init pid or from cgroups already resolved. */
export async function cgroupPids(target: number | ContainerCgroups): Promise<number[]> {
  const cg = typeof target === 'number' ? await containerCgroups(target) : target;
  const dir = procsDir(cg);
  if (!dir) return [];
  return cgroupDirPids(dir);
}

/** The init pid of a container whose record says running or paused and whose process is alive. */
export function runningPid(rec: { State: { Status: string; Pid: number } }): number | undefined {
  const { Status, Pid } = rec.State;
  if ((Status !== 'running' && Status !== 'paused') || !(Pid > 0)) return undefined;
  try {
    process.kill(Pid, 0);
    return Pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? Pid : undefined;
  }
}
