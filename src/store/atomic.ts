// Atomic file replacement: write a temp file beside the target, fsync it, rename it over the
// target, fsync the directory. A reader sees the old file or the new one, never a torn one,
// whatever moment the writer dies at. Temp files are named `.<name>.tmp-<pid>-<rand>` so readers
// and listings skip them, and a sweep can remove those whose writer is gone.
import { constants, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { processAlive } from '../sys/process.ts';

export interface WriteOptions {
  mode?: number;
  /** fsync the file and its directory (default true): off only for caches that can be rebuilt. */
  durable?: boolean;
}

const TEMP_MARK = '.tmp-';

export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARK);
}

/** A temp path beside `path`, named so that readers skip it and `sweepTempFiles` knows its writer. */
export function tempPathFor(path: string): string {
  // pid + random: unique enough, and O_EXCL refuses a clash rather than sharing a file
  return join(dirname(path), `.${basename(path)}${TEMP_MARK}${process.pid}-${Math.random().toString(16).slice(2, 10)}`);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const dir = dirname(path);
  const tmp = tempPathFor(path);
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, opts.mode ?? 0o644);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  if (durable) await syncDir(dir);
}

export async function writeJsonAtomic(path: string, value: unknown, opts?: WriteOptions): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value) + '\n', opts);
}

/** The parsed file, or undefined when it does not exist. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes temp files in `dir` left by writers that died (their pid no longer runs). */
export async function sweepTempFiles(dir: string): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!isTempName(name)) continue;
    const pid = Number(/\.tmp-(\d+)-/.exec(name)?.[1]);
    if (pid && processAlive(pid)) continue;
    await fs.rm(join(dir, name), { force: true, recursive: true });
    removed++;
  }
  return removed;
}

