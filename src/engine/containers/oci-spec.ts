// A container record → the OCI runtime spec (config.json) runc 1.1 runs, with Docker's
// defaults and Docker's meaning for every HostConfig field. Reads the rootfs (passwd/group,
// WorkingDir), the host (device nodes, sysctls present, the seccomp profile) and nothing else.
import { existsSync, promises as fs, readdirSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { InvalidArgument, SystemError } from '../errors.ts';
import { normalizeCapabilities, parseSecurityOpts, processArgs, type SecurityOptions } from './create-config.ts';
import { recordMountPoints } from '../volumes/plan.ts';
import { linuxResources, type OciDeviceCgroup, type OciLinuxResources } from './resources.ts';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NOFILE,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  DEFAULT_SHM_SIZE,
  INIT_PATH_IN_CONTAINER,
  defaultDeviceRules,
  defaultMounts,
  type OciMount,
} from './spec-defaults.ts';
import type { ContainerRecord, HostConfig, MountPoint } from './types.ts';
import { etcFileMounts } from './etc-files.ts';
import { resolveInRoot, resolveUser } from './user.ts';

// ---- the parts of runtime-spec 1.0.2 berth writes ---------------------------------------

export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
}

export interface OciNamespace {
  type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';
  path?: string;
}

export interface OciDevice {
  type: 'c' | 'b' | 'u' | 'p';
  path: string;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: OciSeccompSyscall[];
}

export interface OciLinux {
  namespaces: OciNamespace[];
  devices?: OciDevice[];
  resources?: OciLinuxResources;
  cgroupsPath?: string;
  sysctl?: Record<string, string>;
  seccomp?: OciSeccomp;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  linux: OciLinux;
  annotations?: Record<string, string>;
}

export type NamespaceKind = 'pid' | 'ipc' | 'uts' | 'network';

export interface SpecInput {
  id: string;
  /** Config already merged with the image's, HostConfig with Docker's defaults applied. */
  rec: ContainerRecord;
  /** The mounted rootfs: passwd/group are read there, WorkingDir is made there. */
  rootfs: string;
  /** Host paths of the generated files to bind-mount in. */
  etc: { hosts: string; resolvConf: string; hostname: string };
  /** catatonit (or another init), when HostConfig.Init. */
  initPath?: string;
  /** A seccomp profile file in containers-common's (or Docker's) JSON: the default profile. */
  seccompProfile?: string;
  cgroupsPath: string;
  /** /proc/<pid>/ns/<kind> of the container a `container:<ref>` mode names. */
  namespacePath(kind: NamespaceKind, containerRef: string): Promise<string>;
  /** The network namespace the network step made; undefined = a new one (bridge/none), none for host. */
  netnsPath?: string;
  /** The host path behind a volume mount point (by the volume's name and the mount's destination); undefined skips the mount. */
  volumeSource?(name: string, target: string): Promise<string | undefined>;
  /** A shared /dev/shm (ipc container:/shareable) to bind instead of a private tmpfs. */
  shmPath?: string;
}

export const OCI_VERSION = '1.0.2-dev';
export const DEFAULT_SECCOMP_PROFILE = '/usr/share/containers/seccomp.json';

const isContainerRef = (mode: string | undefined): mode is string => !!mode && mode.startsWith('container:');
const refOf = (mode: string) => mode.slice('container:'.length);

export async function buildSpec(input: SpecInput): Promise<OciSpec> {
  const { rec, rootfs } = input;
  const config = rec.Config;
  const hc = rec.HostConfig;
  const sec = parseSecurityOpts(hc.SecurityOpt);
  const privileged = !!hc.Privileged;

  const user = await resolveUser(rootfs, config.User, hc.GroupAdd);
  const cwd = config.WorkingDir || '/';
  if (cwd !== '/') await makeWorkingDir(rootfs, cwd, user.uid, user.gid);

  const mounts = buildMounts(input, sec);
  for (const m of await userMounts(input)) mounts.push(m);
  applyReadonlyRootfs(mounts, hc, userDestinations(input));
  let args = processArgs(config);
  const pidPrivate = !hc.PidMode || (hc.PidMode !== 'host' && !isContainerRef(hc.PidMode));
  if (hc.Init && input.initPath && pidPrivate) {
    // catatonit reaps zombies and forwards signals to the command as pid 2; mounted last so
    // that a user's mount on /run can't hide it
    args = [INIT_PATH_IN_CONTAINER, '--', ...args];
    mounts.push({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: input.initPath, options: ['bind', 'ro'] });
  }

  const caps = capabilities(hc);
  const hostname = config.Hostname || rec.Id.slice(0, 12);

  const process: OciProcess = {
    terminal: !!config.Tty,
    user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
    args,
    env: processEnv(config.Env ?? [], hostname, !!config.Tty, user.home),
    cwd,
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    rlimits: rlimits(hc),
    noNewPrivileges: sec.noNewPrivileges,
  };
  const size = hc.ConsoleSize;
  if (config.Tty && size && size[0] > 0 && size[1] > 0) process.consoleSize = { height: size[0], width: size[1] };
  if (typeof hc.OomScoreAdj === 'number') process.oomScoreAdj = hc.OomScoreAdj;
  if (sec.apparmor && sec.apparmor !== 'unconfined' && !privileged) process.apparmorProfile = sec.apparmor;

  const { devices, rules } = privileged ? privilegedDevices() : await mappedDevices(hc);
  const resources = linuxResources(hc);
  resources.devices = [...(privileged ? [] : defaultDeviceRules()), ...rules, ...(resources.devices ?? [])];

  const linux: OciLinux = {
    namespaces: await namespaces(input),
    devices,
    resources,
    cgroupsPath: input.cgroupsPath,
  };
  const sysctl = sysctls(hc);
  if (Object.keys(sysctl).length) linux.sysctl = sysctl;
  const propagation = rootfsPropagation(rec);
  if (propagation) linux.rootfsPropagation = propagation;
  if (!privileged && !sec.unconfinedPaths) {
    linux.maskedPaths = hc.MaskedPaths ?? defaultMaskedPaths();
    linux.readonlyPaths = hc.ReadonlyPaths ?? [...DEFAULT_READONLY_PATHS];
  }
  const seccomp = privileged ? undefined : await seccompFor(sec, input.seccompProfile ?? DEFAULT_SECCOMP_PROFILE, caps);
  if (seccomp) linux.seccomp = seccomp;

  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process,
    root: { path: rootfs, readonly: !!hc.ReadonlyRootfs },
    mounts,
    linux,
  };
  // with the host's UTS namespace, setting a hostname would rename the host
  if (hc.UTSMode !== 'host') {
    spec.hostname = hostname;
    if (config.Domainname) spec.domainname = config.Domainname;
  }
  const annotations = hc['Annotations'];
  if (annotations && typeof annotations === 'object' && Object.keys(annotations).length) spec.annotations = { ...(annotations as Record<string, string>) };
  return spec;
}

// ---- process ---------------------------------------------------------------------------

/** Docker's order: PATH, HOSTNAME, TERM (with a tty), then Config.Env replacing by key; HOME last if unset. */
export function processEnv(env: readonly string[], hostname: string, tty: boolean, home: string): string[] {
  const out = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${hostname}`];
  if (tty) out.push('TERM=xterm');
  for (const e of env) {
    const key = e.split('=', 1)[0]!;
    // `FOO` without `=` takes the value from nowhere in a container: Docker drops it
    if (!e.includes('=')) continue;
    const i = out.findIndex((o) => o.split('=', 1)[0] === key);
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  if (!out.some((e) => e.startsWith('HOME='))) out.push(`HOME=${home}`);
  return out;
}

async function makeWorkingDir(rootfs: string, cwd: string, uid: number, gid: number): Promise<void> {
  const host = await resolveInRoot(rootfs, cwd);
  // create missing parts one by one so that only what we made is chowned to the user
  const rel = posix.relative(rootfs, host).split('/').filter(Boolean);
  let at = rootfs;
  for (const part of rel) {
    at = posix.join(at, part);
    try {
      await fs.mkdir(at, { mode: 0o755 });
      await fs.chown(at, uid, gid);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new SystemError(`creating the working directory ${cwd}: ${(err as Error).message}`, { cause: err });
    }
  }
  const st = await fs.stat(host);
  if (!st.isDirectory()) throw new InvalidArgument(`the working directory '${cwd}' is not a directory in the container`);
}

const RLIMIT_TYPE = (name: string) => `RLIMIT_${name.toUpperCase()}`;

function rlimits(hc: HostConfig): OciRlimit[] {
  const out: OciRlimit[] = [];
  for (const u of hc.Ulimits ?? []) {
    const type = RLIMIT_TYPE(u.Name);
    const i = out.findIndex((r) => r.type === type);
    // -1 is "unlimited" in Docker's API: RLIM_INFINITY
    const lim = { type, soft: u.Soft < 0 ? 2 ** 64 - 1 : u.Soft, hard: u.Hard < 0 ? 2 ** 64 - 1 : u.Hard };
    if (i >= 0) out[i] = lim;
    else out.push(lim);
  }
  if (!out.some((r) => r.type === 'RLIMIT_NOFILE')) {
    const n = defaultNofile();
    out.push({ type: 'RLIMIT_NOFILE', soft: n, hard: n });
  }
  return out;
}

let nofile: number | undefined;
/**
 * Docker's 1048576 (at most fs.nr_open); where berth may not raise a hard limit (no
 * CAP_SYS_RESOURCE: a rootless or confined service), its own hard limit, or runc fails with EPERM.
 */
function defaultNofile(): number {
  if (nofile !== undefined) return nofile;
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  const nrOpen = Number(read('/proc/sys/fs/nr_open').trim()) || DEFAULT_NOFILE;
  nofile = Math.min(DEFAULT_NOFILE, nrOpen);
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(read('/proc/self/status'))?.[1];
  const CAP_SYS_RESOURCE = 24n;
  if (capEff && !((BigInt(`0x${capEff}`) >> CAP_SYS_RESOURCE) & 1n)) {
    const hard = /^Max open files\s+\S+\s+(\d+)/m.exec(read('/proc/self/limits'))?.[1];
    if (hard) nofile = Math.min(nofile, Number(hard));
  }
  return nofile;
}

/**
 * Docker's capability set after Privileged, CapAdd and CapDrop (`ALL`, any case, with or without
 * `CAP_`). "All" means all that berth itself may hand out (its bounding set), as Docker's does.
 */
export function capabilities(hc: Pick<HostConfig, 'Privileged' | 'CapAdd' | 'CapDrop'>, available = availableCapabilities()): string[] {
  const all = [...available];
  if (hc.Privileged) return all;
  const add = normalizeCapabilities(hc.CapAdd, 'CapAdd');
  const drop = normalizeCapabilities(hc.CapDrop, 'CapDrop');
  if (add.includes('ALL')) return all.filter((c) => !drop.includes(c));
  if (drop.includes('ALL')) return [...new Set(add)];
  const caps = DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
  for (const c of add) if (!caps.includes(c)) caps.push(c);
  return caps;
}

let available: string[] | undefined;
function availableCapabilities(): string[] {
  if (available) return available;
  let bnd: bigint | undefined;
  try {
    const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (hex) bnd = BigInt(`0x${hex}`);
  } catch {
    // no /proc: assume every capability
  }
  available = ALL_CAPABILITIES.filter((_, i) => bnd === undefined || ((bnd >> BigInt(i)) & 1n) === 1n);
  return available;
}

// ---- mounts ----------------------------------------------------------------------------

function buildMounts(input: SpecInput, sec: SecurityOptions): OciMount[] {
  const hc = input.rec.HostConfig;
  const privileged = !!hc.Privileged;
  const taken = userDestinations(input);
  const out: OciMount[] = [];
  for (const m of defaultMounts()) {
    if (taken.has(m.destination)) continue;
    if (m.destination === '/dev/shm') {
      if (hc.IpcMode === 'none') continue;
      if (hc.IpcMode === 'host') {
        out.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
        continue;
      }
      if (input.shmPath) {
        out.push({ destination: '/dev/shm', type: 'bind', source: input.shmPath, options: ['rbind', 'rprivate'] });
        continue;
      }
      m.options!.push(`size=${hc.ShmSize || DEFAULT_SHM_SIZE}`);
    }
    if (m.destination === '/sys' && privileged) m.options = m.options!.filter((o) => o !== 'ro');
    if (m.type === 'cgroup' && (sec.writableCgroups ?? privileged)) m.options = m.options!.filter((o) => o !== 'ro');
    out.push(m);
  }
  // the generated files, writable unless the rootfs is read-only (as Docker mounts them)
  const etcOpts = ['rbind', 'rprivate', ...(hc.ReadonlyRootfs ? ['ro'] : [])];
  for (const [dest, source] of etcFileMounts(input.etc)) {
    if (!taken.has(dest)) out.push({ destination: dest, type: 'bind', source, options: [...etcOpts] });
  }
  return out;
}

/** Destinations the user mounts something at: these replace Docker's defaults there. */
function userDestinations(input: SpecInput): Set<string> {
  const hc = input.rec.HostConfig;
  const out = new Set<string>();
  for (const m of recordMountPoints(input.rec)) out.add(m.Destination);
  for (const t of Object.keys(hc.Tmpfs ?? {})) out.add(posix.normalize(t));
  return out;
}

const TMPFS_DEFAULTS = ['noexec', 'nosuid', 'nodev'];

/** Tmpfs options with the user's last say: `exec` cancels the default `noexec`, `rw` cancels `ro`. */
export function mergeTmpfsOptions(defaults: readonly string[], user: readonly string[]): string[] {
  const opposite: Record<string, string> = { exec: 'noexec', noexec: 'exec', suid: 'nosuid', nosuid: 'suid', dev: 'nodev', nodev: 'dev', rw: 'ro', ro: 'rw' };
  const out = [...defaults];
  for (const o of user) {
    const key = o.split('=', 1)[0]!;
    const at = out.findIndex((x) => x === opposite[o] || x === o || (o.includes('=') && x.split('=', 1)[0] === key));
    if (at >= 0) out.splice(at, 1);
    out.push(o);
  }
  return out;
}

function bindOptions(readOnly: boolean, propagation: string, recursive = true): string[] {
  return [recursive ? 'rbind' : 'bind', ...(readOnly ? ['ro'] : []), propagation];
}

async function userMounts(input: SpecInput): Promise<OciMount[]> {
  const hc = input.rec.HostConfig;
  const out: OciMount[] = [];
  // binds, volumes and --mount tmpfs, as planned at create (volumes/plan.ts)
  for (const m of recordMountPoints(input.rec)) {
    const mount = await fromMountPoint(input, m);
    if (mount) out.push(mount);
  }
  for (const [dest, opts] of Object.entries(hc.Tmpfs ?? {})) {
    const user = opts ? opts.split(',').filter(Boolean) : [];
    out.push({ destination: posix.normalize(dest), type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(TMPFS_DEFAULTS, user) });
  }
  // parents before children, as Docker sorts them, so a mount under another lands on top of it
  return out.sort((a, b) => depth(a.destination) - depth(b.destination));
}

const depth = (p: string) => posix.normalize(p).split('/').filter(Boolean).length;

async function fromMountPoint(input: SpecInput, m: MountPoint): Promise<OciMount | undefined> {
  const target = m.Destination;
  switch (m.Type) {
    case 'bind':
      return {
        destination: target,
        type: 'bind',
        source: m.Source,
        options: bindOptions(!m.RW, m.Propagation || 'rprivate', !m.Spec?.BindOptions?.NonRecursive),
      };
    case 'volume': {
      const source = await input.volumeSource?.(m.Name ?? '', target);
      return source ? { destination: target, type: 'bind', source, options: bindOptions(!m.RW, m.Propagation || 'rprivate') } : undefined;
    }
    case 'tmpfs': {
      const user: string[] = [];
      if (!m.RW) user.push('ro');
      const t = m.Spec?.TmpfsOptions;
      if (t?.Mode) user.push(`mode=${t.Mode.toString(8)}`);
      if (t?.SizeBytes) user.push(`size=${t.SizeBytes}`);
      for (const o of t?.Options ?? []) user.push(o.length === 2 ? `${o[0]}=${o[1]}` : o[0]!);
      return { destination: target, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(TMPFS_DEFAULTS, user) };
    }
    default:
      return undefined;
  }
}

/** ReadonlyRootfs: Docker's own mounts go read-only too, except the kernel filesystems a process needs. */
function applyReadonlyRootfs(mounts: OciMount[], hc: HostConfig, user: Set<string>): void {
  if (!hc.ReadonlyRootfs) return;
  const keep = new Set(['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev']);
  for (const m of mounts) {
    if (keep.has(m.destination) || user.has(m.destination)) continue;
    if (!m.options?.includes('ro')) m.options = [...(m.options ?? []), 'ro'];
  }
}

function rootfsPropagation(rec: ContainerRecord): string | undefined {
  const props: string[] = [];
  for (const m of recordMountPoints(rec)) if (m.Type === 'bind') props.push(m.Propagation);
  if (props.some((p) => p === 'shared' || p === 'rshared')) return 'rshared';
  if (props.some((p) => p === 'slave' || p === 'rslave')) return 'rslave';
  return undefined;
}

function defaultMaskedPaths(): string[] {
  const out = [...DEFAULT_MASKED_PATHS];
  let cpus: string[] = [];
  try {
    cpus = readdirSync('/sys/devices/system/cpu').filter((n) => /^cpu\d+$/.test(n));
  } catch {
    // no sysfs: nothing more to mask
  }
  for (const cpu of cpus) {
    const p = `/sys/devices/system/cpu/${cpu}/thermal_throttle`;
    if (existsSync(p)) out.push(p);
  }
  return out;
}

// ---- namespaces, sysctls ---------------------------------------------------------------

async function namespaces(input: SpecInput): Promise<OciNamespace[]> {
  const hc = input.rec.HostConfig;
  const out: OciNamespace[] = [{ type: 'mount' }];
  const join = async (type: OciNamespace['type'], kind: NamespaceKind, mode: string | undefined) => {
    if (mode === 'host') return;
    if (isContainerRef(mode)) out.push({ type, path: await input.namespacePath(kind, refOf(mode)) });
    else out.push({ type });
  };
  if (input.netnsPath) out.push({ type: 'network', path: input.netnsPath });
  else await join('network', 'network', hc.NetworkMode);
  await join('uts', 'uts', hc.UTSMode);
  await join('pid', 'pid', hc.PidMode);
  await join('ipc', 'ipc', hc.IpcMode);
  if (hc.CgroupnsMode === 'private') out.push({ type: 'cgroup' });
  return out;
}

function sysctls(hc: HostConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const net = hc.NetworkMode ?? '';
  // Docker's defaults in a network namespace of the container's own: ping without CAP_NET_RAW, low ports without CAP_NET_BIND_SERVICE
  if (net !== 'host' && !isContainerRef(net)) {
    for (const [k, v] of [
      ['net.ipv4.ping_group_range', '0 2147483647'],
      ['net.ipv4.ip_unprivileged_port_start', '0'],
    ] as const) {
      if (existsSync(`/proc/sys/${k.replaceAll('.', '/')}`)) out[k] = v;
    }
  }
  Object.assign(out, hc.Sysctls ?? {});
  return out;
}

// ---- devices ---------------------------------------------------------------------------

interface DeviceSet {
  devices: OciDevice[];
  rules: OciDeviceCgroup[];
}

function majorMinor(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

async function deviceAt(hostPath: string, containerPath: string): Promise<OciDevice | undefined> {
  const st = await fs.stat(hostPath, { bigint: true });
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return { type, path: containerPath, ...majorMinor(st.rdev), fileMode: Number(st.mode & 0o777n), uid: Number(st.uid), gid: Number(st.gid) };
}

async function mappedDevices(hc: HostConfig): Promise<DeviceSet> {
  const out: DeviceSet = { devices: [], rules: [] };
  for (const d of hc.Devices ?? []) {
    const access = d.CgroupPermissions || 'rwm';
    const inContainer = d.PathInContainer || d.PathOnHost;
    const add = (dev: OciDevice) => {
      out.devices.push(dev);
      out.rules.push({ allow: true, type: dev.type as 'c' | 'b', major: dev.major, minor: dev.minor, access });
    };
    try {
      const st = await fs.stat(d.PathOnHost);
      if (st.isDirectory()) {
        // a directory maps every device node under it, keeping the relative paths
        for (const rel of await listDeviceFiles(d.PathOnHost)) {
          const dev = await deviceAt(posix.join(d.PathOnHost, rel), posix.join(inContainer, rel));
          if (dev) add(dev);
        }
        continue;
      }
      const dev = await deviceAt(d.PathOnHost, inContainer);
      if (!dev) throw new Error('not a device node');
      add(dev);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message;
      throw new InvalidArgument(`error gathering device information while adding custom device ${JSON.stringify(d.PathOnHost)}: ${why}`);
    }
  }
  return out;
}

async function listDeviceFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isCharacterDevice() || e.isBlockDevice()).map((e) => posix.relative(dir, posix.join(e.parentPath ?? e.path, e.name)));
}

/** Privileged: every device node of the host's /dev (not pts/shm/mqueue), and a cgroup that allows all. */
function privilegedDevices(): DeviceSet {
  const devices: OciDevice[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = posix.join(dir, e.name);
      if (e.isDirectory()) {
        if (!['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/fd', '/dev/.lxc', '/dev/.udev'].includes(p)) walk(p);
        continue;
      }
      if (!e.isCharacterDevice() && !e.isBlockDevice()) continue;
      if (p === '/dev/console' || p === '/dev/ptmx') continue; // runc makes these itself
      try {
        const st = statSync(p, { bigint: true });
        devices.push({ type: e.isCharacterDevice() ? 'c' : 'b', path: p, ...majorMinor(st.rdev), fileMode: Number(st.mode & 0o777n), uid: Number(st.uid), gid: Number(st.gid) });
      } catch {
        // gone meanwhile
      }
    }
  };
  walk('/dev');
  return { devices, rules: [{ allow: true, access: 'rwm' }] };
}

// ---- seccomp ---------------------------------------------------------------------------

interface ProfileSyscall {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[] | null;
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}

interface Profile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures?: string[] }>;
  flags?: string[];
  syscalls?: ProfileSyscall[];
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
const SECCOMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  '386': 'SCMP_ARCH_X86',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
};

async function seccompFor(sec: SecurityOptions, defaultPath: string, caps: string[]): Promise<OciSeccomp | undefined> {
  if (sec.seccomp === 'unconfined') return undefined;
  let text: string;
  if (sec.seccomp === undefined) {
    try {
      text = await fs.readFile(defaultPath, 'utf8');
    } catch (err) {
      // no profile installed: run without one rather than refuse every container
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  } else if (sec.seccomp.trimStart().startsWith('{')) {
    // the docker CLI reads --security-opt seccomp=<file> itself and sends the JSON
    text = sec.seccomp;
  } else {
    try {
      text = await fs.readFile(sec.seccomp, 'utf8');
    } catch (err) {
      throw new InvalidArgument(`opening seccomp profile (${sec.seccomp}) failed: ${(err as Error).message}`);
    }
  }
  let profile: Profile;
  try {
    profile = JSON.parse(text) as Profile;
  } catch (err) {
    throw new InvalidArgument(`decoding seccomp profile failed: ${(err as Error).message}`);
  }
  return seccompFromProfile(profile, caps, GO_ARCH[process.arch] ?? process.arch);
}

/**
 * A Docker/containers-common seccomp profile → the OCI form for one architecture and
 * capability set: rules whose includes don't match (or excludes do) are left out, archMap
 * becomes the native architecture and its sub-architectures.
 */
export function seccompFromProfile(profile: Profile, caps: readonly string[], goArch: string): OciSeccomp {
  const out: OciSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  const native = SECCOMP_ARCH[goArch];
  if (profile.archMap?.length) {
    const entry = profile.archMap.find((a) => a.architecture === native);
    if (entry) out.architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  } else if (profile.architectures?.length) {
    out.architectures = [...profile.architectures];
  }
  if (profile.flags?.length) out.flags = [...profile.flags];
  const syscalls: OciSeccompSyscall[] = [];
  for (const s of profile.syscalls ?? []) {
    const inc = s.includes ?? {};
    const exc = s.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(goArch)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => caps.includes(c))) continue;
    if (exc.arches?.length && exc.arches.includes(goArch)) continue;
    if (exc.caps?.length && exc.caps.some((c) => caps.includes(c))) continue;
    const names = s.names?.length ? s.names : s.name ? [s.name] : [];
    if (!names.length) continue;
    const rule: OciSeccompSyscall = { names: [...names], action: s.action };
    if (s.errnoRet !== undefined) rule.errnoRet = s.errnoRet;
    if (s.args?.length) rule.args = s.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op }));
    syscalls.push(rule);
  }
  out.syscalls = syscalls;
  return out;
}
