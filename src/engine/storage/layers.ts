// Unpacked layers, one directory per chain id under <root>/layers, shared by every image whose
// layer stack starts the same way: `layers/<hex>/diff/` (an overlay lowerdir, whiteouts in
// overlay form) and `layers/<hex>/layer.json`. A layer is filled in a temp dir and renamed into
// place only once complete and verified, so a layer dir that exists is whole.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { SystemError } from '../errors.ts';
import { readJson, sweepTempFiles, syncDir, tempPathFor, writeJsonAtomic } from '../../store/atomic.ts';
import { acquireLock, lockPath } from '../../store/lock.ts';

export interface LayerInfo {
  chainId: string;
  diffId: string;
  /** the chain id below, if any */
  parent?: string;
  /** unpacked bytes (regular files) */
  size: number;
}

/** Chain ids as the OCI image spec defines them: each names a layer and everything below it. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');

export class LayerStore {
  constructor(
    readonly dir: string,
    private readonly locksDir: string,
  ) {}

  path(chainId: string): string {
    return join(this.dir, hex(chainId));
  }

  diffDir(chainId: string): string {
    return join(this.path(chainId), 'diff');
  }

  async info(chainId: string): Promise<LayerInfo | undefined> {
    return readJson<LayerInfo>(join(this.path(chainId), 'layer.json')).catch(() => undefined);
  }

  async has(chainId: string): Promise<boolean> {
    return (await this.info(chainId)) !== undefined;
  }

  async list(): Promise<string[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /**
   * Makes the layer exist: `fill` writes its files into an empty dir and says what diff id they
   * came from; a mismatch with `diffId` throws and leaves nothing. Returns false when the layer
   * was there already (or another process made it meanwhile).
   */
  async create(chainId: string, diffId: string, parent: string | undefined, fill: (dir: string) => Promise<{ diffId: string; size: number }>): Promise<boolean> {
    if (await this.has(chainId)) return false;
    const lock = await acquireLock(lockPath(this.locksDir, 'layer', hex(chainId)), { timeoutMs: 30 * 60_000 });
    try {
      if (await this.has(chainId)) return false;
      const final = this.path(chainId);
      await fs.rm(final, { recursive: true, force: true }); // an incomplete dir without layer.json (older crash)
      const tmp = tempPathFor(final);
      await fs.mkdir(join(tmp, 'diff'), { recursive: true, mode: 0o700 });
      try {
        const got = await fill(join(tmp, 'diff'));
        if (got.diffId !== diffId) throw new SystemError(`layer ${diffId} unpacked to ${got.diffId}: the image's config does not match its layers`);
        const info: LayerInfo = { chainId, diffId, size: got.size, ...(parent ? { parent } : {}) };
        await writeJsonAtomic(join(tmp, 'layer.json'), info);
        await fs.rename(tmp, final);
      } catch (err) {
        await fs.rm(tmp, { recursive: true, force: true });
        throw err;
      }
      await syncDir(this.dir);
      return true;
    } finally {
      await lock.release();
    }
  }

  /** Removes a layer; its lock keeps a concurrent create of the same chain from racing it. */
  async remove(chainId: string): Promise<void> {
    const lock = await acquireLock(lockPath(this.locksDir, 'layer', hex(chainId)));
    try {
      const final = this.path(chainId);
      // rename first: a crash mid-delete leaves a temp dir to sweep, never a half layer in place
      const doomed = tempPathFor(final);
      await fs.rename(final, doomed).catch(() => undefined);
      await fs.rm(doomed, { recursive: true, force: true });
    } finally {
      await lock.release();
    }
  }

  /** Removes what crashed unpacks left behind. */
  async sweep(): Promise<void> {
    await sweepTempFiles(this.dir);
  }
}
