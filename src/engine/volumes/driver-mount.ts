// Volumes with DriverOpts are mounted at their _data while a container that uses them runs:
// mounted by the first user's start, unmounted when the last running user ends (Docker's local
// driver keeps that count in memory; here it is on disk, so that any process can take part).
//
// The count is one marker file per container, `<runroot>/volumes/<name>/users/<container id>`,
// made and removed under the volume's lock. A marker whose container no longer runs (killed
// cleanup, a crashed service) is stale and ignored; the runroot is a tmpfs, so a reboot, which
// also drops the mounts, drops the markers with them.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import type { EngineContext } from '../context.ts';
import { InvalidArgument, SystemError } from '../errors.ts';
import { ContainerStore } from '../containers/store.ts';
import { acquireLock, lockPath } from '../../store/lock.ts';
import { processAlive } from '../../sys/process.ts';
import { mount, umount, MNT_DETACH } from '../../sys/libc.ts';
import { MS, needsMount, parseMountOptions } from './driver-options.ts';
import { isMountedAt } from './mountinfo.ts';
import { VolumeStore, type VolumeRecord } from './store.ts';

function usersDir(ctx: EngineContext, name: string): string {
  return join(ctx.paths.runroot, 'volumes', name, 'users');
}

/** Go's errno text ("no such file or directory") of a failed syscall. */
function errnoText(err: unknown): string {
  const errno = (err as { errno?: number }).errno;
  if (typeof errno === 'number') {
    const entry = getSystemErrorMap().get(errno < 0 ? errno : -errno);
    if (entry) return entry[1];
  }
  return (err as Error).message;
}

/** Docker's moby/sys/mount error text: `mount dev:target, flags: 0x…, data: …: why`. */
function mountErrorText(op: string, source: string, target: string, flags: number, data: string, err: unknown): string {
  let out = `${op} ${source ? `${source}:${target}` : target}`;
  if (flags) out += `, flags: 0x${flags.toString(16)}`;
  if (data) out += `, data: ${data}`;
  return `${out}: ${errnoText(err)}`;
}

/** The local driver's mount: device on _data with `type` and `o`, as Docker's mount package makes it. */
function mountLocal(opts: Record<string, string>, target: string): void {
  const device = opts['device'] ?? '';
  if (!device) throw new Error('missing device in volume options');
  const { flags, propagation, data } = parseMountOptions(opts['o']);
  const type = opts['type'] || null;
  if (!(flags & MS.REMOUNT) || data) {
    try {
      mount(device, target, type, flags, data || null);
    } catch (err) {
      throw new Error(mountErrorText('mount', device, target, flags, data, err));
    }
  }
  try {
    if (propagation) mount(null, target, null, propagation, null);
    // a bind mount takes ro only from a remount
    if ((flags & (MS.BIND | MS.RDONLY)) === (MS.BIND | MS.RDONLY)) mount(null, target, null, flags | MS.REMOUNT, null);
  } catch (err) {
    umount(target, MNT_DETACH);
    throw new Error(mountErrorText('remount', '', target, flags | MS.REMOUNT, '', err));
  }
}

/**
 * Whether the container that left a marker still runs, or is being started (its lock is held:
 * the marker may be its own, made a moment ago under that lock).
 */
async function userActive(ctx: EngineContext, id: string): Promise<boolean> {
  const rec = await new ContainerStore(ctx).read(id).catch(() => undefined);
  if (!rec) return false;
  const s = rec.State;
  if ((s.Status === 'running' || s.Status === 'paused' || s.Status === 'created') && s.ConmonPid && processAlive(s.ConmonPid)) return true;
  try {
    const lock = await acquireLock(lockPath(ctx.paths.locks, 'container', id), { timeoutMs: 0 });
    await lock.release();
    return false;
  } catch {
    return true;
  }
}

/** The ids of the containers that hold the volume mounted (stale markers removed). */
async function activeUsers(ctx: EngineContext, name: string): Promise<string[]> {
  const dir = usersDir(ctx, name);
  const out: string[] = [];
  for (const id of await fs.readdir(dir).catch(() => [] as string[])) {
    if (await userActive(ctx, id)) out.push(id);
    else await fs.rm(join(dir, id), { force: true });
  }
  return out;
}

/**
 * Makes the volume's contents available at _data for container `id`: for a volume with
 * DriverOpts, records the container as a user and mounts it if it is not mounted yet. Throws
 * Docker's start error when the mount fails.
 */
export async function mountVolume(ctx: EngineContext, vol: VolumeRecord, id: string): Promise<string> {
  const store = new VolumeStore(ctx);
  const data = store.paths(vol.Name).data;
  if (!needsMount(vol.Options)) return data;
  await store.withLock(vol.Name, async () => {
    const dir = usersDir(ctx, vol.Name);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.writeFile(join(dir, id), '');
    if (await isMountedAt(data)) return;
    try {
      mountLocal(vol.Options!, data);
    } catch (err) {
      await fs.rm(join(dir, id), { force: true });
      // Docker's words; a client error here (Docker says 500), so that `docker run`'s attach,
      // which makes the container first, lets the start report it
      throw new InvalidArgument(`error while mounting volume '${data}': failed to mount local volume: ${(err as Error).message}`, { cause: err });
    }
  });
  return data;
}

/** Container `id` is done with the volume: unmounts it when no other running container uses it. */
export async function unmountVolume(ctx: EngineContext, name: string, id: string): Promise<void> {
  const store = new VolumeStore(ctx);
  await store.withLock(name, async () => {
    await fs.rm(join(usersDir(ctx, name), id), { force: true });
    await unmountIfUnused(ctx, name);
  });
}

/** Under the volume's lock: unmounts _data when no running container uses the volume; false when one does. */
export async function unmountIfUnused(ctx: EngineContext, name: string): Promise<boolean> {
  const data = new VolumeStore(ctx).paths(name).data;
  if ((await activeUsers(ctx, name)).length > 0) return false;
  while (await isMountedAt(data)) {
    if (!umount(data, MNT_DETACH)) break;
  }
  if (await isMountedAt(data)) throw new SystemError(`error unmounting volume ${name}: still mounted at ${data}`);
  await fs.rm(usersDir(ctx, name), { recursive: true, force: true });
  return true;
}
