// Volumes on disk (the local driver): `<root>/volumes/<name>/volume.json` (the record, written
// atomically and last) and `<root>/volumes/<name>/_data` (the contents, Docker's Mountpoint).
//
// A volume exists when its record does: create makes the dirs first and the record last, remove
// deletes the record first and the dirs after, so a kill at any moment leaves at most a dir
// without a record, which listings ignore and `sweepVolumes` removes. Every change is made under
// the volume's lock (`<runroot>/locks/volume-<name>.lock`).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { NotFound, SystemError } from '../errors.ts';
import { recordEvent } from '../events/journal.ts';
import { isTempName, readJson, writeJsonAtomic } from '../../store/atomic.ts';
import { acquireLock, lockPath, withLock } from '../../store/lock.ts';
import { ANONYMOUS_LABEL, validateVolumeName } from './names.ts';
import { validateDriverOptions } from './driver-options.ts';
import { isMountedAt } from './mountinfo.ts';

export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  /** As given (null when none were: Docker answers them back so). */
  Labels: Record<string, string> | null;
  /** The local driver's DriverOpts (type, device, o), as given (null when none were). */
  Options: Record<string, string> | null;
  /** RFC 3339 in seconds, as Docker shows it. */
  CreatedAt: string;
  /** Made for one container (`-v /path`, an image VOLUME): `rm -v` removes it. */
  Anonymous: boolean;
}

export interface VolumePaths {
  dir: string;
  record: string;
  data: string;
}

export interface NewVolume {
  name: string;
  labels?: Record<string, string> | null;
  options?: Record<string, string> | null;
  anonymous?: boolean;
}

const RECORD = 'volume.json';

/** Go's time.RFC3339 in the local zone: seconds, `Z` for UTC or ±hh:mm. */
export function rfc3339Seconds(date = new Date()): string {
  const off = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + off * 60_000).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const abs = Math.abs(off);
  return `${local}${off < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export class VolumeStore {
  constructor(readonly ctx: EngineContext) {}

  paths(name: string): VolumePaths {
    const dir = join(this.ctx.paths.volumes, name);
    return { dir, record: join(dir, RECORD), data: join(dir, '_data') };
  }

  lockPath(name: string): string {
    return lockPath(this.ctx.paths.locks, 'volume', name);
  }

  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return withLock(this.lockPath(name), fn);
  }

  async read(name: string): Promise<VolumeRecord | undefined> {
    // a name that can't be a volume's can't name a file of ours either
    if (!name || name.includes('/') || name === '.' || name === '..') return undefined;
    try {
      return await readJson<VolumeRecord>(this.paths(name).record);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  /** The volume, or Docker's 404 `get <name>: no such volume`. */
  async get(name: string): Promise<VolumeRecord> {
    const v = await this.read(name);
    if (!v) throw new NotFound(`get ${name}: no such volume`);
    return v;
  }

  async list(): Promise<VolumeRecord[]> {
    const names = await fs.readdir(this.ctx.paths.volumes).catch(() => [] as string[]);
    const out: VolumeRecord[] = [];
    for (const name of names) {
      if (isTempName(name)) continue;
      const v = await this.read(name).catch(() => undefined);
      if (v) out.push(v);
    }
    return out.sort((a, b) => a.Name.localeCompare(b.Name));
  }

  /**
   * Creates the volume, or returns the one of that name (Docker's create: an existing name is
   * answered with the existing volume, whatever labels or options were asked). A `create` event
   * when it is new.
   */
  async create(spec: NewVolume, opts: { whileLocked?: (v: VolumeRecord) => Promise<void> } = {}): Promise<{ volume: VolumeRecord; created: boolean }> {
    validateVolumeName(spec.name);
    validateDriverOptions(spec.name, spec.options ?? null);
    const p = this.paths(spec.name);
    const result = await this.withLock(spec.name, async () => {
      const existing = await this.read(spec.name);
      if (existing) {
        await opts.whileLocked?.(existing);
        return { volume: existing, created: false };
      }
      const labels = spec.labels || spec.anonymous ? { ...(spec.labels ?? {}) } : null;
      if (spec.anonymous) labels![ANONYMOUS_LABEL] = '';
      const options = spec.options ? { ...spec.options } : null;
      // a dir without a record is what a killed remove left: its old contents must not come back
      if (await fs.stat(p.dir).then(() => true, () => false)) {
        if (await isMountedAt(p.data)) throw new SystemError(`create ${spec.name}: a mount is left at ${p.data}`);
        await fs.rm(p.dir, { recursive: true, force: true });
      }
      const volume: VolumeRecord = { Name: spec.name, Driver: 'local', Labels: labels, Options: options, CreatedAt: rfc3339Seconds(), Anonymous: !!spec.anonymous };
      try {
        await fs.mkdir(p.dir, { recursive: true, mode: 0o701 });
        await fs.mkdir(p.data, { recursive: true, mode: 0o755 });
        // mkdir's mode passes through the umask
        await fs.chmod(p.data, 0o755);
        await writeJsonAtomic(p.record, volume);
      } catch (err) {
        await fs.rm(p.dir, { recursive: true, force: true }).catch(() => {});
        throw new SystemError(`create ${spec.name}: error while creating volume path '${p.data}': ${(err as Error).message}`, { cause: err });
      }
      await opts.whileLocked?.(volume);
      return { volume, created: true };
    });
    if (result.created) await recordEvent(this.ctx, { type: 'volume', action: 'create', id: spec.name, attributes: { driver: 'local' } });
    return result;
  }

  /**
   * Deletes a volume's record and then its dirs (the caller holds its lock and has made sure
   * nothing is mounted at _data: rm -r must never reach through a mount into a host dir).
   */
  async deleteLocked(name: string): Promise<void> {
    const p = this.paths(name);
    await fs.rm(p.record, { force: true });
    await fs.rm(p.dir, { recursive: true, force: true });
  }

  /**
   * Volume dirs without a record (a create or remove killed half-way), left once their lock is
   * free and they are a minute old, so that a create in flight is never swept.
   */
  async sweep(): Promise<string[]> {
    const swept: string[] = [];
    for (const name of await fs.readdir(this.ctx.paths.volumes).catch(() => [] as string[])) {
      if (isTempName(name)) continue;
      const p = this.paths(name);
      const st = await fs.stat(p.dir).catch(() => undefined);
      if (!st?.isDirectory() || Date.now() - st.mtimeMs < 60_000) continue;
      if (await this.read(name).catch(() => 'unreadable')) continue;
      let lock;
      try {
        lock = await acquireLock(this.lockPath(name), { timeoutMs: 0 });
      } catch {
        continue; // someone is at it
      }
      try {
        if (await this.read(name).catch(() => 'unreadable')) continue;
        if (await isMountedAt(p.data)) continue;
        await fs.rm(p.dir, { recursive: true, force: true });
        swept.push(name);
      } finally {
        await lock.release();
      }
    }
    return swept;
  }
}
