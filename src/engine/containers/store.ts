// Container records on disk and the names that point at them.
//
// `<root>/containers/<id>/container.json` is the record (atomic rewrites under the container's
// lock); `<root>/containers/.names/<name>` is a symlink to the id. Creating the symlink is the
// cross-process reservation of a name (symlink(2) fails with EEXIST when it is taken). A link
// whose record is gone (a create killed half-way, a remove killed half-way) is stale: the next
// reservation of that name removes it. The record is written after the name, and a record is
// removed before its name, so a name never points at the wrong container.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { Conflict, InvalidArgument, NotFound } from '../errors.ts';
import { readJson, writeJsonAtomic } from '../../store/atomic.ts';
import { acquireLock, lockPath, type Lock } from '../../store/lock.ts';
import type { ContainerRecord } from './types.ts';

/** Where one container's files live: its record and writable layer under --root, its bundle under --runroot. */
export interface ContainerPaths {
  dir: string;
  record: string;
  upper: string;
  work: string;
  /** conmon's log (k8s-file format). */
  log: string;
  hosts: string;
  resolvConf: string;
  hostname: string;
  /** Exec session records. */
  execs: string;
  /** The OCI bundle: config.json, rootfs, conmon's sockets and fifos (conmon's --full-attach puts attach/ctl/winsz here). */
  bundle: string;
  spec: string;
  rootfs: string;
  pidFile: string;
  conmonPidFile: string;
  attach: string;
  ctl: string;
  winsz: string;
  exitDir: string;
  /** conmon writes the exit code here as text. */
  exitFile: string;
}

export function containerPaths(ctx: EngineContext, id: string): ContainerPaths {
  const dir = join(ctx.paths.containers, id);
  const bundle = join(ctx.paths.runContainers, id);
  const exitDir = join(bundle, 'exits');
  return {
    dir,
    record: join(dir, 'container.json'),
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    log: join(dir, 'ctr.log'),
    hosts: join(dir, 'hosts'),
    resolvConf: join(dir, 'resolv.conf'),
    hostname: join(dir, 'hostname'),
    execs: join(dir, 'exec'),
    bundle,
    spec: join(bundle, 'config.json'),
    rootfs: join(bundle, 'rootfs'),
    pidFile: join(bundle, 'pidfile'),
    conmonPidFile: join(bundle, 'conmon.pid'),
    attach: join(bundle, 'attach'),
    ctl: join(bundle, 'ctl'),
    winsz: join(bundle, 'winsz'),
    exitDir,
    exitFile: join(exitDir, id),
  };
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const ID_RE = /^[0-9a-f]{64}$/;

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** Docker's name grammar; a leading slash is allowed and dropped. */
export function validName(name: string): string {
  if (!NAME_RE.test(name)) throw new InvalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.replace(/^\//, '');
}

export class NoSuchContainer extends NotFound {
  constructor(idOrName: string) {
    super(`No such container: ${idOrName}`);
  }
}

export class ContainerStore {
  readonly namesDir: string;

  constructor(readonly ctx: EngineContext) {
    this.namesDir = join(ctx.paths.containers, '.names');
  }

  paths(id: string): ContainerPaths {
    return containerPaths(this.ctx, id);
  }

  lock(id: string): Promise<Lock> {
    return acquireLock(lockPath(this.ctx.paths.locks, 'container', id));
  }

  /** Runs `fn` holding the container's lock (cross-process). */
  async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const lock = await this.lock(id);
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  async read(id: string): Promise<ContainerRecord | undefined> {
    if (!ID_RE.test(id)) return undefined;
    return readJson<ContainerRecord>(this.paths(id).record);
  }

  async write(rec: ContainerRecord): Promise<void> {
    await writeJsonAtomic(this.paths(rec.Id).record, rec, { mode: 0o600 });
  }

  /** Reads, changes and writes a record under its lock; `change` may return a value. */
  async update<T>(id: string, change: (rec: ContainerRecord) => T | Promise<T>): Promise<{ rec: ContainerRecord; result: T }> {
    return this.withLock(id, async () => {
      const rec = await this.read(id);
      if (!rec) throw new NoSuchContainer(id);
      const result = await change(rec);
      await this.write(rec);
      return { rec, result };
    });
  }

  async ids(): Promise<string[]> {
    const names = await fs.readdir(this.ctx.paths.containers).catch(() => [] as string[]);
    return names.filter((n) => ID_RE.test(n));
  }

  async list(): Promise<ContainerRecord[]> {
    const recs = await Promise.all((await this.ids()).map((id) => this.read(id).catch(() => undefined)));
    return recs.filter((r): r is ContainerRecord => r !== undefined);
  }

  /** The id behind a full id, a name (with or without its slash), or a unique id prefix. */
  async resolve(idOrName: string): Promise<string> {
    if (ID_RE.test(idOrName) && (await this.read(idOrName))) return idOrName;
    const name = idOrName.replace(/^\//, '');
    if (NAME_RE.test(idOrName)) {
      const id = await fs.readlink(join(this.namesDir, name)).catch(() => undefined);
      if (id && (await this.read(id))) return id;
    }
    if (/^[0-9a-f]+$/.test(idOrName)) {
      const matches = (await this.ids()).filter((id) => id.startsWith(idOrName));
      if (matches.length > 1) throw new InvalidArgument(`multiple IDs found with provided prefix: ${idOrName}`);
      if (matches.length === 1) return matches[0]!;
    }
    throw new NoSuchContainer(idOrName);
  }

  async find(idOrName: string): Promise<ContainerRecord> {
    const id = await this.resolve(idOrName);
    const rec = await this.read(id);
    if (!rec) throw new NoSuchContainer(idOrName);
    return rec;
  }

  /** Reserves `name` for `id`: a Conflict in Docker's words when another container has it. */
  async reserveName(name: string, id: string): Promise<void> {
    await fs.mkdir(this.namesDir, { recursive: true, mode: 0o700 });
    const link = join(this.namesDir, name);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await fs.symlink(id, link);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = await fs.readlink(link).catch(() => undefined);
      if (owner === undefined) continue;
      if (owner === id) return;
      if (await this.read(owner)) {
        throw new Conflict(
          `Conflict. The container name "/${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
      // stale: its container is gone; take it over (a racing taker fails its symlink and retries)
      await fs.rm(link, { force: true });
    }
    throw new Conflict(`could not reserve the name "${name}"`);
  }

  /** Drops `name` if it still points at `id`. */
  async releaseName(name: string, id: string): Promise<void> {
    const link = join(this.namesDir, name);
    const owner = await fs.readlink(link).catch(() => undefined);
    if (owner === id) await fs.rm(link, { force: true });
  }

  /** A name nobody holds, Docker-style (`adjective_surname`). */
  async generateName(id: string): Promise<string> {
    const { randomName } = await import('./names.ts');
    for (let i = 0; ; i++) {
      const name = randomName(i >= 3 ? Math.floor(Math.random() * 10) : undefined);
      try {
        await this.reserveName(name, id);
        return name;
      } catch (err) {
        if (!(err instanceof Conflict) || i > 20) throw err;
      }
    }
  }
}
