// What a container mounts, decided at create as Docker's daemon decides it (pure: the volumes
// it names are made afterwards by container-volumes.ts):
//   1. the mounts of VolumesFrom containers (read-only when asked),
//   2. Binds (`/host:/path`, `name:/path`, `/path`), which replace 1 at the same destination,
//   3. Mounts (`--mount`), which may not share a destination with a bind,
//   4. an anonymous volume for each Config.Volumes entry (the image's VOLUMEs and the CLI's
//      `-v /path`) that nothing above covers.
import { posix } from 'node:path';
import { InvalidArgument, NotFound } from '../errors.ts';
import { parseBind } from '../containers/create-config.ts';
import type { ContainerConfig, HostConfig, MountPoint, MountSpec } from '../containers/types.ts';

/** A mount point still to be given its volume: `volume` says how to make (or find) it. */
export interface PlannedMount {
  mp: MountPoint;
  /** For volumes: the name ('' = a new anonymous one) and what a new one is made with. */
  volume?: { name: string; labels?: Record<string, string> | null; options?: Record<string, string> | null; mustExist?: boolean };
}

/** Go's path.Clean for an absolute path: no trailing slash, no `.` or `..`. */
export function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

const duplicate = (dest: string) => new InvalidArgument(`Duplicate mount point: ${dest}`);

/** `other[:mode]` of VolumesFrom, as Docker reads it. */
export function parseVolumesFrom(spec: string): { ref: string; readOnly: boolean } {
  if (spec === '') throw new InvalidArgument('volumes-from specification cannot be an empty string');
  const i = spec.indexOf(':');
  const ref = i < 0 ? spec : spec.slice(0, i);
  const mode = i < 0 ? '' : spec.slice(i + 1);
  if (mode === '') return { ref, readOnly: false };
  // no propagation and no copy mode: those stay as the other container has them
  const opts = mode.split(',');
  const known = ['ro', 'rw', 'z', 'Z', 'consistent', 'cached', 'delegated'];
  if (!opts.every((o) => known.includes(o)) || new Set(opts).size !== opts.length || (opts.includes('ro') && opts.includes('rw'))) {
    throw new InvalidArgument(`invalid mode: ${mode}`);
  }
  return { ref, readOnly: opts.includes('ro') };
}

function checkDriver(driver: string | undefined, name: string): void {
  if (driver && driver !== 'local') throw new NotFound(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
}

/**
 * The container's mount points in Docker's order of precedence. `volumesFrom(ref)` gives the
 * mount points of the container a VolumesFrom entry names (throwing when there is none).
 */
export function planMountPoints(
  config: ContainerConfig,
  hc: HostConfig,
  volumesFrom: (ref: string) => MountPoint[] = () => [],
): PlannedMount[] {
  const byDest = new Map<string, PlannedMount>();
  const binds = new Set<string>();
  const tmpfs = new Set(Object.keys(hc.Tmpfs ?? {}).map(cleanPath));

  for (const spec of hc.VolumesFrom ?? []) {
    const { ref, readOnly } = parseVolumesFrom(spec);
    for (const m of volumesFrom(ref)) {
      const mp: MountPoint = { ...m, RW: m.RW && !readOnly, Mode: '', NoCopy: true, Populated: true };
      byDest.set(mp.Destination, { mp, ...(mp.Type === 'volume' && mp.Name ? { volume: { name: mp.Name, mustExist: true } } : {}) });
    }
  }

  for (const raw of hc.Binds ?? []) {
    const b = parseBind(raw);
    b.target = cleanPath(b.target);
    if (b.type === 'bind') b.source = cleanPath(b.source);
    if (binds.has(b.target) || tmpfs.has(b.target)) throw duplicate(b.target);
    binds.add(b.target);
    if (b.type === 'bind') {
      byDest.set(b.target, { mp: { Type: 'bind', Source: b.source, Destination: b.target, Mode: b.mode, RW: !b.readOnly, Propagation: b.propagation } });
      continue;
    }
    if (b.source) checkDriver(hc.VolumeDriver, b.source);
    const mp: MountPoint = { Type: 'volume', Name: b.source, Source: '', Destination: b.target, Driver: 'local', Mode: b.mode || 'z', RW: !b.readOnly, Propagation: '' };
    if (!b.source) mp.Anonymous = true;
    if (b.noCopy) mp.NoCopy = true;
    byDest.set(b.target, { mp, volume: { name: b.source } });
  }

  for (const m of hc.Mounts ?? []) {
    const target = cleanPath(m.Target ?? '');
    if (binds.has(target)) throw duplicate(m.Target ?? target);
    binds.add(target);
    byDest.set(target, fromMountSpec(m, target));
  }

  for (const dest of Object.keys(config.Volumes ?? {})) {
    const target = cleanPath(dest);
    if (byDest.has(target) || tmpfs.has(target)) continue;
    byDest.set(target, { mp: { Type: 'volume', Name: '', Source: '', Destination: target, Driver: 'local', Mode: '', RW: true, Propagation: '', Anonymous: true }, volume: { name: '' } });
  }
  return [...byDest.values()];
}

function fromMountSpec(m: MountSpec, target: string): PlannedMount {
  const spec = { ...m };
  switch (m.Type) {
    case 'bind':
      return {
        mp: { Type: 'bind', Source: cleanPath(m.Source ?? ''), Destination: target, Mode: '', RW: !m.ReadOnly, Propagation: m.BindOptions?.Propagation || 'rprivate', Spec: spec },
      };
    case 'volume': {
      const name = m.Source ?? '';
      const vo = m.VolumeOptions;
      if (name) checkDriver(vo?.DriverConfig?.Name, name);
      const mp: MountPoint = { Type: 'volume', Name: name, Source: '', Destination: target, Driver: 'local', Mode: 'z', RW: !m.ReadOnly, Propagation: '', Spec: spec };
      if (!name) mp.Anonymous = true;
      if (vo?.NoCopy) mp.NoCopy = true;
      return { mp, volume: { name, labels: vo?.Labels ?? null, options: vo?.DriverConfig?.Options ?? null } };
    }
    case 'tmpfs':
      return { mp: { Type: 'tmpfs', Source: '', Destination: target, Mode: '', RW: !m.ReadOnly, Propagation: '', Spec: spec } };
    default:
      throw new InvalidArgument(`invalid mount config for type ${JSON.stringify(m.Type ?? '')}: mount type unknown`);
  }
}

/**
 * The mount points of a record: as planned at create, or, for a record from before volumes were
 * planned (MountPoints missing or empty), as its HostConfig's Binds and Mounts say.
 */
export function recordMountPoints(rec: { MountPoints?: MountPoint[]; HostConfig: HostConfig; Config: ContainerConfig }): MountPoint[] {
  if (rec.MountPoints?.length) return rec.MountPoints;
  const hc = rec.HostConfig;
  if (!hc.Binds?.length && !hc.Mounts?.length) return [];
  try {
    // volumes keep the name they were given ('' for anonymous ones, which had no volume then)
    return planMountPoints({}, { ...hc, VolumesFrom: null }).map((p) => ({ ...p.mp, Name: p.volume?.name ?? p.mp.Name }));
  } catch {
    return [];
  }
}
