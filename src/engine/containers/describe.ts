// Containers in Docker's words: the inspect document, the list summary with its human status
// ("Up 3 seconds", "Exited (0) 2 minutes ago"), and the list's filters.
import type { EngineContext } from '../context.ts';
import { baseSettings } from '../network/container-network.ts';
import { publicEndpoint, type Endpoint } from '../network/endpoint.ts';
import { checkFilterKeys, filterBool, matchLabels, type Filters } from '../filters.ts';
import { InvalidArgument } from '../errors.ts';
import { portList } from '../network/port-bindings.ts';
import { recordMountPoints } from '../volumes/plan.ts';
import { processArgs } from './create-config.ts';
import { containerLayerDirs } from './rootfs.ts';
import { containerPaths } from './store.ts';
import { ZERO_TIME, type ContainerRecord } from './types.ts';

function pathAndArgs(rec: ContainerRecord): { Path: string; Args: string[] } {
  let args: string[] = [];
  try {
    args = processArgs(rec.Config);
  } catch {
    // no command: inspect still answers
  }
  return { Path: args[0] ?? '', Args: args.slice(1) };
}

const unixSeconds = (rfc: string) => Math.floor(Date.parse(rfc) / 1000);

/** Docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(ms / 60_000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(ms / 3_600_000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const st = rec.State;
  switch (st.Status) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(st.StartedAt))}`;
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(st.StartedAt))} (Paused)`;
    case 'restarting':
      return `Restarting (${st.ExitCode}) ${humanDuration(now - Date.parse(st.FinishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'exited':
      return st.FinishedAt === ZERO_TIME ? 'Created' : `Exited (${st.ExitCode}) ${humanDuration(now - Date.parse(st.FinishedAt))} ago`;
    default:
      return 'Created';
  }
}

function stateOf(rec: ContainerRecord) {
  const s = rec.State;
  return {
    Status: s.Status,
    Running: s.Status === 'running' || s.Status === 'paused',
    Paused: s.Status === 'paused',
    Restarting: s.Status === 'restarting',
    OOMKilled: s.OOMKilled,
    Dead: s.Status === 'dead',
    Pid: s.Status === 'running' || s.Status === 'paused' ? s.Pid : 0,
    ExitCode: s.ExitCode,
    Error: s.Error,
    StartedAt: s.StartedAt,
    FinishedAt: s.FinishedAt,
  };
}

export function networkSettings(rec: ContainerRecord): Record<string, unknown> {
  const settings: Record<string, unknown> = { ...baseSettings(), ...rec.NetworkSettings };
  const eps = settings['Networks'] as Record<string, Endpoint> | undefined;
  if (eps) settings['Networks'] = Object.fromEntries(Object.entries(eps).map(([n, ep]) => [n, publicEndpoint(ep)]));
  return settings;
}

/** Binds, volumes and --mount tmpfs mounts as inspect lists them (Docker's MountPoint fields). */
function mountsOf(rec: ContainerRecord): Array<Record<string, unknown>> {
  return recordMountPoints(rec).map((m) =>
    m.Type === 'volume'
      ? { Type: 'volume', Name: m.Name ?? '', Source: m.Source, Destination: m.Destination, Driver: m.Driver ?? 'local', Mode: m.Mode, RW: m.RW, Propagation: m.Propagation }
      : { Type: m.Type, Source: m.Source, Destination: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation },
  );
}

export function containerInspect(ctx: EngineContext, rec: ContainerRecord, opts: { sizeRw?: number; sizeRootFs?: number } = {}): Record<string, unknown> {
  const p = containerPaths(ctx, rec.Id);
  const dirs = containerLayerDirs(ctx, rec);
  const lower = [...dirs.lowers].reverse().join(':');
  const { Labels, ...config } = rec.Config;
  return {
    Id: rec.Id,
    Created: rec.Created,
    ...pathAndArgs(rec),
    State: stateOf(rec),
    Image: rec.Image,
    ResolvConfPath: p.resolvConf,
    HostnamePath: p.hostname,
    HostsPath: p.hosts,
    LogPath: p.log,
    Name: `/${rec.Name}`,
    RestartCount: rec.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: rec.ExecIDs?.length ? rec.ExecIDs : null,
    HostConfig: {
      ...rec.HostConfig,
      NetworkMode: rec.HostConfig.NetworkMode || 'bridge',
      LogConfig: { Type: rec.HostConfig.LogConfig?.Type || 'json-file', Config: rec.HostConfig.LogConfig?.Config ?? {} },
      RestartPolicy: { Name: rec.HostConfig.RestartPolicy?.Name || 'no', MaximumRetryCount: rec.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0 },
    },
    ...(opts.sizeRw !== undefined ? { SizeRw: opts.sizeRw, SizeRootFs: opts.sizeRootFs } : {}),
    GraphDriver: { Data: { LowerDir: lower, MergedDir: p.rootfs, UpperDir: dirs.upper, WorkDir: dirs.work }, Name: 'overlay2' },
    Mounts: mountsOf(rec),
    Config: { ...config, Labels: Labels ?? {} },
    NetworkSettings: networkSettings(rec),
  };
}

function commandLine(rec: ContainerRecord): string {
  const { Path, Args } = pathAndArgs(rec);
  // Docker's own rule: arguments with a space in single quotes
  const quote = (a: string) => (a.includes(' ') ? `'${a}'` : a);
  return [Path, ...Args.map(quote)].join(' ');
}

export function containerSummary(rec: ContainerRecord, opts: { sizeRw?: number; sizeRootFs?: number } = {}): Record<string, unknown> {
  return {
    Id: rec.Id,
    Names: [`/${rec.Name}`],
    Image: rec.ImageName,
    ImageID: rec.Image,
    Command: commandLine(rec),
    Created: unixSeconds(rec.Created),
    Ports: portList((rec.NetworkSettings?.['Ports'] ?? undefined) as Parameters<typeof portList>[0]),
    ...(opts.sizeRw !== undefined ? { SizeRw: opts.sizeRw, SizeRootFs: opts.sizeRootFs } : {}),
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: statusText(rec),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode || 'bridge' },
    NetworkSettings: { Networks: networkSettings(rec).Networks },
    Mounts: mountsOf(rec),
  };
}

const LIST_FILTERS = ['id', 'name', 'label', 'label!', 'status', 'exited', 'ancestor', 'before', 'since', 'volume', 'network', 'health', 'publish', 'expose', 'is-task'];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** Docker's container list filters; `imageIdsOf` resolves an `ancestor` to image ids. */
export function containerFilter(
  filters: Filters,
  recs: ContainerRecord[],
  ancestorIds: Set<string> | undefined,
): (rec: ContainerRecord) => boolean {
  checkFilterKeys(filters, LIST_FILTERS);
  for (const s of filters['status'] ?? []) if (!STATUSES.includes(s)) throw new InvalidArgument(`invalid filter 'status=${s}'`);
  for (const h of filters['health'] ?? []) if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw new InvalidArgument(`Unrecognised filter value for health: ${h}`);
  const exited = (filters['exited'] ?? []).map((e) => {
    const n = Number(e);
    if (!/^-?\d+$/.test(e)) throw new InvalidArgument(`invalid filter 'exited=${e}'`);
    return n;
  });
  const byRef = (ref: string) => recs.find((r) => r.Id === ref || r.Name === ref.replace(/^\//, '') || r.Id.startsWith(ref));
  const created = (r: ContainerRecord) => Date.parse(r.Created);
  const before = filters['before']?.[0] !== undefined ? byRef(filters['before'][0]) : undefined;
  const since = filters['since']?.[0] !== undefined ? byRef(filters['since'][0]) : undefined;
  if (filters['before']?.length && !before) throw new InvalidArgument(`No such container: ${filters['before'][0]}`);
  if (filters['since']?.length && !since) throw new InvalidArgument(`No such container: ${filters['since'][0]}`);
  const isTask = filterBool('is-task', filters['is-task']);
  return (rec) => {
    if (filters['id']?.length && !filters['id'].some((i) => rec.Id.startsWith(i))) return false;
    if (filters['name']?.length && !filters['name'].some((n) => new RegExp(n.replace(/^\//, '')).test(rec.Name) || new RegExp(n).test(`/${rec.Name}`))) return false;
    if (!matchLabels(rec.Config.Labels, filters['label'])) return false;
    if (filters['label!']?.length && filters['label!'].some((l) => matchLabels(rec.Config.Labels, [l]))) return false;
    if (filters['status']?.length && !filters['status'].includes(rec.State.Status)) return false;
    if (exited.length && (rec.State.Status !== 'exited' || !exited.includes(rec.State.ExitCode))) return false;
    if (ancestorIds && !ancestorIds.has(rec.Image)) return false;
    if (before && !(created(rec) < created(before))) return false;
    if (since && !(created(rec) > created(since))) return false;
    if (filters['health']?.length && !filters['health'].includes('none')) return false;
    if (isTask === true) return false;
    if (filters['network']?.length) {
      // by network name or id, as Docker matches them
      const eps = (rec.NetworkSettings?.['Networks'] ?? {}) as Record<string, { NetworkID?: string }>;
      const mine = Object.entries(eps).flatMap(([n, ep]) => [n, ep.NetworkID ?? '']);
      if (!filters['network'].some((f) => mine.includes(f) || (f.length >= 12 && mine.some((m) => m.startsWith(f))))) return false;
    }
    if (filters['volume']?.length) {
      // a volume by its name, another mount by its source, or any by its destination (Docker's)
      const dests = mountsOf(rec).flatMap((m) => [String(m['Name'] || m['Source']), String(m['Destination'])]);
      if (!filters['volume'].some((v) => dests.includes(v))) return false;
    }
    if (filters['expose']?.length) {
      const ports = Object.keys(rec.Config.ExposedPorts ?? {});
      if (!filters['expose'].some((e) => ports.includes(e.includes('/') ? e : `${e}/tcp`))) return false;
    }
    if (filters['publish']?.length) {
      // published ports as the container's run made them (Docker matches the host side; both are accepted here)
      const published = portList((rec.NetworkSettings?.['Ports'] ?? undefined) as Parameters<typeof portList>[0]).filter((p) => p['PublicPort'] !== undefined);
      const keys = new Set([...Object.keys(rec.HostConfig.PortBindings ?? {}), ...published.flatMap((p) => [`${p['PublicPort']}/${p['Type']}`, `${p['PrivatePort']}/${p['Type']}`])]);
      if (!filters['publish'].some((e) => keys.has(e.includes('/') ? e : `${e}/tcp`))) return false;
    }
    return true;
  };
}
