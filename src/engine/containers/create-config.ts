// The create body as Docker takes it: the image's config merged in, Docker's defaults filled in,
// and every value checked with Docker's own wording before anything is written. Pure, except
// that a bind Mount's source must exist on the host (stat).
import { statSync } from 'node:fs';
import { availableParallelism, constants as osConstants } from 'node:os';
import { posix } from 'node:path';
import { InvalidArgument } from '../errors.ts';
import type { ImageConfig } from '../images/image-store.ts';
import { parseExtraHost } from './etc-files.ts';
import { parseDeviceCgroupRule } from './resources.ts';
import { ALL_CAPABILITIES, DEFAULT_SHM_SIZE, DEFAULT_STOP_SIGNAL, DEFAULT_STOP_TIMEOUT } from './spec-defaults.ts';
import type { ContainerConfig, HostConfig, MountSpec } from './types.ts';

type ImageRuntimeConfig = NonNullable<ImageConfig['config']>;

const MIN_MEMORY = 6 * 1024 * 1024;
const MAX_HOSTNAME = 64;

const envKey = (e: string) => e.split('=', 1)[0]!;
const isEmpty = (o: object | null | undefined) => !o || Object.keys(o).length === 0;

/**
 * Docker's merge of the image's config into the create body's (moby's daemon merge): the body
 * wins field by field; Env keeps the body's entries first and adds the image's whose key the body
 * does not set; ExposedPorts, Volumes and Labels are unions. An Entrypoint in the body drops the
 * image's Cmd (unless the body gives a Cmd too); `[""]` clears the entrypoint.
 */
export function mergeImageConfig(config: ContainerConfig, image: ImageRuntimeConfig | undefined): ContainerConfig {
  const img = (image ?? {}) as ContainerConfig;
  const out: ContainerConfig = { ...config };
  if (!out.User) out.User = img.User ?? '';

  if (isEmpty(out.ExposedPorts)) {
    if (!isEmpty(img.ExposedPorts)) out.ExposedPorts = { ...img.ExposedPorts };
  } else if (img.ExposedPorts) {
    out.ExposedPorts = { ...img.ExposedPorts, ...out.ExposedPorts };
  }

  if (!out.Env?.length) {
    out.Env = img.Env ? [...img.Env] : out.Env;
  } else {
    const keys = new Set(out.Env.map(envKey));
    out.Env = [...out.Env, ...(img.Env ?? []).filter((e) => !keys.has(envKey(e)))];
  }

  out.Labels = { ...(img.Labels ?? {}), ...(out.Labels ?? {}) };

  if (!out.Entrypoint?.length) {
    if (!out.Cmd?.length) out.Cmd = img.Cmd ?? out.Cmd;
    // an explicit empty list (not null) keeps the image's entrypoint out too
    if (out.Entrypoint === undefined || out.Entrypoint === null) out.Entrypoint = img.Entrypoint ?? out.Entrypoint;
  }
  if (out.Entrypoint?.length === 1 && out.Entrypoint[0] === '') out.Entrypoint = null;

  if (img.Healthcheck) {
    if (!out.Healthcheck) out.Healthcheck = { ...img.Healthcheck };
    else {
      const hc = { ...out.Healthcheck };
      const test = hc['Test'];
      if (!Array.isArray(test) || test.length === 0) hc['Test'] = img.Healthcheck['Test'];
      for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) {
        if (!hc[k]) hc[k] = img.Healthcheck[k];
      }
      out.Healthcheck = hc;
    }
  }
  if (!out.WorkingDir) out.WorkingDir = img.WorkingDir ?? '';
  if (isEmpty(out.Volumes)) {
    if (!isEmpty(img.Volumes)) out.Volumes = { ...img.Volumes };
  } else if (img.Volumes) {
    out.Volumes = { ...out.Volumes, ...img.Volumes };
  }
  if (!out.StopSignal && img.StopSignal) out.StopSignal = img.StopSignal;
  if (!out.OnBuild?.length && img.OnBuild?.length) out.OnBuild = [...img.OnBuild];
  if (!out.Shell?.length && img.Shell?.length) out.Shell = [...img.Shell];
  if (out.ArgsEscaped == null && img.ArgsEscaped != null) out.ArgsEscaped = img.ArgsEscaped;
  return out;
}

export interface HostDefaults {
  /** The host mounts cgroup v2 only (then a private cgroup namespace is Docker's default). */
  cgroupV2?: boolean;
}

/**
 * Docker's create-time defaults, written into the record so inspect shows them as Docker's does:
 * MemorySwap twice Memory, ShmSize 64 MiB, IpcMode private, CgroupnsMode by cgroup version,
 * OomKillDisable false, NetworkMode default→bridge is left to the network step.
 */
export function applyHostConfigDefaults(hc: HostConfig, host: HostDefaults = {}): HostConfig {
  const out: HostConfig = { ...hc };
  if ((out.Memory ?? 0) > 0 && !out.MemorySwap) out.MemorySwap = out.Memory! * 2;
  if (!out.ShmSize) out.ShmSize = DEFAULT_SHM_SIZE;
  if (!out.IpcMode) out.IpcMode = 'private';
  if (!out.CgroupnsMode) out.CgroupnsMode = host.cgroupV2 ? 'private' : 'host';
  if (out.OomKillDisable == null) out.OomKillDisable = false;
  return out;
}

// ---- validation -------------------------------------------------------------------------

const bad = (msg: string) => new InvalidArgument(msg);

function isContainerMode(mode: string | undefined): boolean {
  return !!mode && mode.startsWith('container:');
}

const RESTART_POLICIES = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure']);

function validateRestartPolicy(hc: HostConfig): void {
  const name = hc.RestartPolicy?.Name ?? '';
  const retries = hc.RestartPolicy?.MaximumRetryCount ?? 0;
  if (!RESTART_POLICIES.has(name)) {
    throw bad(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (name === 'on-failure') {
    if (retries < 0) throw bad('invalid restart policy: maximum retry count cannot be negative');
  } else if (name !== '' && retries !== 0) {
    throw bad(`invalid restart policy: maximum retry count can only be used with 'on-failure'${retries < 0 ? ' and cannot be negative' : ''}`);
  }
}

/** Docker's NormalizeLegacyCapabilities: upper case, `CAP_` prefixed, `ALL` kept; unknown names rejected. */
export function normalizeCapabilities(caps: readonly string[] | null | undefined, field = 'CapAdd'): string[] {
  const known = new Set<string>(ALL_CAPABILITIES);
  return (caps ?? []).map((c) => {
    let up = c.toUpperCase();
    if (up === 'ALL') return up;
    if (!up.startsWith('CAP_')) up = `CAP_${up}`;
    if (!known.has(up)) throw bad(`invalid ${field}: unknown capability: ${JSON.stringify(up)}`);
    return up;
  });
}

/** A valid signal name or number (`SIGTERM`, `TERM`, `15`) → its name, or undefined. */
export function parseSignal(raw: string): string | undefined {
  const signals = osConstants.signals as Record<string, number>;
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    return Object.keys(signals).find((k) => signals[k] === n);
  }
  const name = raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`;
  return name in signals ? name : undefined;
}

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** undefined: the default profile; 'unconfined'; or a profile (JSON text, or a path to one). */
  seccomp?: string;
  apparmor?: string;
  labels: string[];
  /** systempaths=unconfined: no masked/readonly paths. */
  unconfinedPaths: boolean;
  writableCgroups?: boolean;
}

/** HostConfig.SecurityOpt in Docker's grammar (`key=value`, the legacy `key:value`). */
export function parseSecurityOpts(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, labels: [], unconfinedPaths: false };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'writable-cgroups') {
      out.writableCgroups = true;
      continue;
    }
    if (opt === 'disable') {
      out.labels.push('disable');
      continue;
    }
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : undefined;
    if (!sep) throw bad(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const at = opt.indexOf(sep);
    const k = opt.slice(0, at);
    const v = opt.slice(at + 1);
    const bool = () => {
      const b = parseGoBool(v);
      if (b === undefined) throw bad(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
      return b;
    };
    switch (k) {
      case 'label':
        out.labels.push(v);
        break;
      case 'apparmor':
        out.apparmor = v;
        break;
      case 'seccomp':
        out.seccomp = v === '' || v === 'builtin' ? undefined : v;
        break;
      case 'no-new-privileges':
        out.noNewPrivileges = bool();
        break;
      case 'writable-cgroups':
        out.writableCgroups = bool();
        break;
      case 'systempaths':
        if (v !== 'unconfined') throw bad(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.unconfinedPaths = true;
        break;
      default:
        throw bad(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return out;
}

function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

// ---- binds and mounts ------------------------------------------------------------------

const RW_MODES = new Set(['rw', 'ro']);
const LABEL_MODES = new Set(['z', 'Z']);
const PROPAGATION_MODES = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']);
const COPY_MODES = new Set(['nocopy']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated']);

function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = [0, 0, 0, 0, 0];
  for (const o of mode.split(',')) {
    const i = RW_MODES.has(o) ? 0 : LABEL_MODES.has(o) ? 1 : PROPAGATION_MODES.has(o) ? 2 : COPY_MODES.has(o) ? 3 : CONSISTENCY_MODES.has(o) ? 4 : -1;
    if (i < 0) return false;
    counts[i]!++;
  }
  return counts.every((c) => c <= 1);
}

/** One entry of HostConfig.Binds, parsed. */
export interface ParsedBind {
  /** An absolute host path (bind) or a volume name; empty for an anonymous volume (`/data`). */
  source: string;
  target: string;
  type: 'bind' | 'volume';
  readOnly: boolean;
  /** Docker's default for binds is rprivate. */
  propagation: string;
  noCopy: boolean;
  /** z / Z (SELinux relabel): accepted, no effect without SELinux. */
  label?: string;
  mode: string;
}

/** `src:dst[:opts]` or `dst` as Docker's Linux parser reads it; throws Docker's messages. */
export function parseBind(raw: string): ParsedBind {
  const parts = splitN(raw, ':', 4);
  const invalidSpec = `invalid volume specification: '${raw}'`;
  if (parts[0] === '') throw bad(invalidSpec);
  let source = '';
  let target: string;
  let mode = '';
  switch (parts.length) {
    case 1:
      target = parts[0]!;
      break;
    case 2:
      // `/foo:rw` is a destination and a mode, which a volume can't be
      if (validMountMode(parts[1]!)) throw bad(invalidSpec);
      source = parts[0]!;
      target = parts[1]!;
      break;
    case 3:
      [source, target, mode] = parts as [string, string, string];
      break;
    default:
      throw bad(invalidSpec);
  }
  if (!validMountMode(mode)) throw bad(`invalid mode: ${mode}`);
  const type = posix.isAbsolute(source) ? 'bind' : 'volume';
  const fail = (why: string) => bad(`${invalidSpec}: invalid mount config for type "${type}": ${why}`);
  if (target === '') throw fail('field Target must not be empty');
  if (posix.normalize(target.replaceAll('\\', '/')) === '/') throw bad(`${invalidSpec}: invalid specification: destination can't be '/'`);
  if (!posix.isAbsolute(target)) throw fail(`invalid mount path: '${target}' mount path must be absolute`);
  const opts = mode ? mode.split(',') : [];
  return {
    source: type === 'bind' ? posix.normalize(source) : source,
    target: posix.normalize(target),
    type,
    readOnly: opts.includes('ro'),
    propagation: opts.find((o) => PROPAGATION_MODES.has(o)) ?? 'rprivate',
    noCopy: opts.includes('nocopy'),
    label: opts.find((o) => LABEL_MODES.has(o)),
    mode,
  };
}

function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  out.push(rest);
  return out;
}

const TMPFS_OPTIONS = new Set(['exec', 'noexec']);

/** A Mount (HostConfig.Mounts) checked as Docker's parser does; a bind's source must exist. */
export function validateMount(m: MountSpec, exists: (path: string) => boolean = pathExists): void {
  const fail = (why: string) => bad(`invalid mount config for type ${JSON.stringify(m.Type ?? '')}: ${why}`);
  const extra = (field: string) => fail(`field ${field} must not be specified`);
  if (m.Type !== 'bind' && m.BindOptions) throw extra('BindOptions');
  if (m.Type !== 'volume' && m.VolumeOptions) throw extra('VolumeOptions');
  if (m.Type !== 'tmpfs' && m.TmpfsOptions) throw extra('TmpfsOptions');
  if (!m.Target) throw fail('field Target must not be empty');
  if (posix.normalize(m.Target.replaceAll('\\', '/')) === '/') throw fail("invalid specification: destination can't be '/'");
  if (!posix.isAbsolute(m.Target)) throw fail(`invalid mount path: '${m.Target}' mount path must be absolute`);
  switch (m.Type) {
    case 'bind': {
      if (!m.Source) throw fail('field Source must not be empty');
      const prop = m.BindOptions?.Propagation;
      if (prop && !PROPAGATION_MODES.has(prop)) throw fail(`invalid propagation mode: ${prop}`);
      if (!posix.isAbsolute(m.Source)) throw fail(`invalid mount path: '${m.Source}' mount path must be absolute`);
      if (!exists(m.Source) && !m.BindOptions?.CreateMountpoint) throw fail(`bind source path does not exist: ${m.Source}`);
      break;
    }
    case 'volume': {
      const sub = m.VolumeOptions?.Subpath;
      if (sub) {
        if (!m.Source) throw fail('must not set Subpath when using anonymous volumes');
        if (posix.isAbsolute(sub) || posix.normalize(sub).startsWith('..')) throw fail('subpath must be a relative path within the volume');
      }
      break;
    }
    case 'tmpfs':
      if (m.Source) throw extra('Source');
      for (const opt of m.TmpfsOptions?.Options ?? []) {
        if (opt.length < 1 || opt.length > 2) throw fail('invalid option array length');
        if (!TMPFS_OPTIONS.has(opt[0]!)) throw fail(`invalid option: ${opt[0]}`);
      }
      break;
    default:
      throw fail('mount type unknown');
  }
}

function pathExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks a create body (Config merged with the image's, HostConfig as given) the way Docker's
 * daemon does, throwing InvalidArgument with Docker's message for the first problem found.
 */
export function validateHostConfig(hc: HostConfig, config: ContainerConfig, opts: { update?: boolean; cpus?: number } = {}): void {
  validateContainerConfig(config);
  if (hc.AutoRemove && hc.RestartPolicy?.Name && hc.RestartPolicy.Name !== 'no') {
    throw bad("can't create 'AutoRemove' container with restart policy");
  }
  for (const m of hc.Mounts ?? []) validateMount(m);
  for (const h of hc.ExtraHosts ?? []) parseExtraHost(h);
  validateRestartPolicy(hc);
  normalizeCapabilities(hc.CapAdd, 'CapAdd');
  normalizeCapabilities(hc.CapDrop, 'CapDrop');
  for (const b of hc.Binds ?? []) parseBind(b);
  validateNetworkMode(hc, config);

  if (config.Hostname && config.Hostname.length > MAX_HOSTNAME) {
    throw bad(`hostname ${JSON.stringify(config.Hostname)} is too long (maximum ${MAX_HOSTNAME} bytes)`);
  }
  validateResources(hc, opts);
  const ipc = hc.IpcMode ?? '';
  if (!['', 'none', 'private', 'host', 'shareable'].includes(ipc) && !isContainerMode(ipc)) throw bad(`invalid IPC mode: ${ipc}`);
  const pid = hc.PidMode ?? '';
  if (pid !== '' && pid !== 'host' && !(isContainerMode(pid) && pid.length > 'container:'.length)) throw bad(`invalid PID mode: ${pid}`);
  if ((hc.ShmSize ?? 0) < 0) throw bad('SHM size can not be less than 0');
  const uts = hc.UTSMode ?? '';
  if (uts !== '' && uts !== 'host') throw bad(`invalid UTS mode: ${uts}`);
  const oom = hc.OomScoreAdj ?? 0;
  if (oom < -1000 || oom > 1000) throw bad(`Invalid value ${oom}, range for oom score adj is [-1000, 1000]`);
  for (const dest of Object.keys(hc.Tmpfs ?? {})) {
    if (posix.normalize(dest) === '/') throw bad("invalid specification: destination can't be '/'");
    if (!posix.isAbsolute(dest)) throw bad(`invalid mount path: '${dest}' mount path must be absolute`);
  }
  const cgns = hc.CgroupnsMode ?? '';
  if (!['', 'host', 'private'].includes(cgns)) throw bad(`invalid cgroup namespace mode: ${cgns}`);
  parseSecurityOpts(hc.SecurityOpt);
  for (const rule of hc.DeviceCgroupRules ?? []) parseDeviceCgroupRule(rule);
  for (const d of hc.Devices ?? []) {
    if (!d.PathOnHost) throw bad('invalid device mapping: PathOnHost must not be empty');
    if (d.CgroupPermissions && !/^[rwm]{1,3}$/.test(d.CgroupPermissions)) throw bad(`invalid device mode: ${d.CgroupPermissions}`);
  }
  for (const u of hc.Ulimits ?? []) {
    if (!RLIMIT_NAMES.has(u.Name)) throw bad(`invalid ulimit type: ${u.Name}`);
    if (u.Soft > u.Hard && u.Hard !== -1) throw bad(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
  }
}

/** Ulimit names Docker accepts (`nofile`, …), as in its units package. */
export const RLIMIT_NAMES = new Set([
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
  'as',
]);

function validateContainerConfig(config: ContainerConfig): void {
  if (config.WorkingDir && !config.WorkingDir.startsWith('/')) {
    throw bad(`the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  if (config.StopSignal && !parseSignal(config.StopSignal)) throw bad(`invalid signal: ${config.StopSignal}`);
  for (const e of config.Env ?? []) {
    if (e === '' || e.startsWith('=')) throw bad(`invalid environment variable: ${e}`);
  }
}

function validateNetworkMode(hc: HostConfig, config: ContainerConfig): void {
  const net = hc.NetworkMode ?? '';
  if (net === 'container' || isContainerMode(net)) {
    if (net.length <= 'container:'.length) throw bad('invalid network mode: invalid container format container:<name|id>');
    if (config.Hostname) throw bad('conflicting options: hostname and the network mode');
    if (hc.Links?.length) throw bad("conflicting options: container type network can't be used with links. This would result in undefined behavior");
    if (hc.Dns?.length) throw bad('conflicting options: dns and the network mode');
    if (hc.ExtraHosts?.length) throw bad('conflicting options: custom host-to-IP mapping and the network mode');
    if (!isEmpty(hc.PortBindings) || hc.PublishAllPorts) throw bad('conflicting options: port publishing and the container type network mode');
    if (!isEmpty(config.ExposedPorts)) throw bad('conflicting options: port exposing and the container type network mode');
  }
  if (hc.UTSMode === 'host' && config.Hostname) throw bad('conflicting options: hostname and the UTS mode');
  if (net === 'host' && hc.Links?.length) throw bad("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
}

function validateResources(hc: HostConfig, opts: { update?: boolean; cpus?: number }): void {
  const memory = hc.Memory ?? 0;
  const swap = hc.MemorySwap ?? 0;
  if (memory !== 0 && memory < MIN_MEMORY) throw bad('Minimum memory limit allowed is 6MB');
  if (memory > 0 && swap > 0 && swap < memory) throw bad('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (memory === 0 && swap > 0 && !opts.update) throw bad('You should always set the Memory limit when using Memoryswap limit, see usage');
  const swappiness = hc.MemorySwappiness;
  // -1 is the API's "not set"
  if (typeof swappiness === 'number' && swappiness !== -1 && (swappiness < 0 || swappiness > 100)) {
    throw bad(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  }
  const reservation = hc.MemoryReservation ?? 0;
  if (reservation > 0 && reservation < MIN_MEMORY) throw bad('Minimum memory reservation allowed is 6MB');
  if (memory > 0 && reservation > 0 && memory < reservation) throw bad('Minimum memory limit can not be less than memory reservation limit, see usage');

  const nano = hc.NanoCpus ?? 0;
  if (nano > 0 && (hc.CpuPeriod ?? 0) > 0) throw bad('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && (hc.CpuQuota ?? 0) > 0) throw bad('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano !== 0) {
    const nc = opts.cpus ?? availableParallelism();
    if (nano < 0 || nano > nc * 1e9) throw bad(`range of CPUs is from 0.01 to ${nc}.00, as there are only ${nc} CPUs available`);
  }
  if ((hc.CpuShares ?? 0) < 0) throw bad(`invalid CPU shares (${hc.CpuShares}): value must be a positive integer`);
  const period = hc.CpuPeriod ?? 0;
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    throw bad('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  const quota = hc.CpuQuota ?? 0;
  if (quota > 0 && quota < 1000) throw bad('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  const rtPeriod = hc.CpuRealtimePeriod ?? 0;
  const rtRuntime = hc.CpuRealtimeRuntime ?? 0;
  if (rtPeriod !== 0 && rtRuntime !== 0 && rtRuntime > rtPeriod) throw bad('cpu real-time runtime cannot be higher than cpu real-time period');
  if (hc.CpusetCpus && !validCpuset(hc.CpusetCpus)) throw bad(`Invalid value ${hc.CpusetCpus} for cpuset cpus`);
  if (hc.CpusetMems && !validCpuset(hc.CpusetMems)) throw bad(`Invalid value ${hc.CpusetMems} for cpuset mems`);
  const weight = hc.BlkioWeight ?? 0;
  if (weight > 0 && (weight < 10 || weight > 1000)) throw bad('Range of blkio weight is from 10 to 1000');
}

/** `0-2,4`: Docker's cpuset list grammar. */
function validCpuset(s: string): boolean {
  return s.split(',').every((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    return !!m && (m[2] === undefined || Number(m[2]) >= Number(m[1]));
  });
}

// ---- process -----------------------------------------------------------------------------

/** The container's command: Entrypoint then Cmd. */
export function processArgs(config: Pick<ContainerConfig, 'Entrypoint' | 'Cmd'>): string[] {
  const entry = config.Entrypoint?.length === 1 && config.Entrypoint[0] === '' ? [] : (config.Entrypoint ?? []);
  const args = [...entry, ...(config.Cmd ?? [])];
  if (args.length === 0) throw bad('No command specified');
  return args;
}

/** The signal `docker stop` sends first, as a name (`SIGTERM` when none is set). */
export function stopSignal(config: Pick<ContainerConfig, 'StopSignal'>): string {
  return (config.StopSignal && parseSignal(config.StopSignal)) || DEFAULT_STOP_SIGNAL;
}

/** Seconds `docker stop` waits before SIGKILL. */
export function stopTimeout(config: Pick<ContainerConfig, 'StopTimeout'>): number {
  return typeof config.StopTimeout === 'number' ? config.StopTimeout : DEFAULT_STOP_TIMEOUT;
}
