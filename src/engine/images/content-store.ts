// The content store: immutable blobs (layers, configs, manifests) in the OCI image layout under
// <root>/images, addressed by sha256 digest. A blob becomes visible only once its bytes are
// complete and verified: it is written to a temp file, hashed while written, fsynced, and renamed
// into place. Two ingests of one digest, in one process or several, fetch it once.
import { createHash } from 'node:crypto';
import { constants, createReadStream, promises as fs, type ReadStream } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgument, SystemError } from '../errors.ts';
import { syncDir, tempPathFor, writeJsonAtomic } from '../../store/atomic.ts';
import { acquireLock, lockPath } from '../../store/lock.ts';
import { isSha256Digest } from './reference.ts';

export interface BlobSource {
  /** The bytes, fetched only if the store lacks the blob. */
  open(): Promise<AsyncIterable<Buffer> | Iterable<Buffer>>;
  /** Called as bytes arrive (for progress). */
  onProgress?: (bytes: number) => void;
}

export class DigestMismatch extends SystemError {
  constructor(readonly digest: string, detail: string) {
    super(`filesystem layer verification failed for digest ${digest}: ${detail}`);
  }
}

export class ContentStore {
  private readonly inflight = new Map<string, Promise<boolean>>();

  constructor(
    readonly dir: string,
    private readonly locksDir: string,
  ) {}

  get blobsDir(): string {
    return join(this.dir, 'blobs', 'sha256');
  }

  /** Creates `oci-layout`, an empty `index.json` and `blobs/sha256/` when missing. */
  async init(): Promise<void> {
    await fs.mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
    const missing = async (p: string) => !(await fs.access(p).then(() => true, () => false));
    if (await missing(join(this.dir, 'oci-layout'))) await writeJsonAtomic(join(this.dir, 'oci-layout'), { imageLayoutVersion: '1.0.0' });
    if (await missing(join(this.dir, 'index.json'))) await writeJsonAtomic(join(this.dir, 'index.json'), { schemaVersion: 2, manifests: [] });
  }

  blobPath(digest: string): string {
    if (!isSha256Digest(digest)) throw new InvalidArgument(`invalid digest ${JSON.stringify(digest)}: berth stores sha256 digests only`);
    return join(this.blobsDir, digest.slice('sha256:'.length));
  }

  async has(digest: string): Promise<boolean> {
    return fs.access(this.blobPath(digest)).then(() => true, () => false);
  }

  async size(digest: string): Promise<number | undefined> {
    return fs.stat(this.blobPath(digest)).then((s) => s.size, () => undefined);
  }

  async read(digest: string): Promise<Buffer> {
    return fs.readFile(this.blobPath(digest));
  }

  openRead(digest: string): ReadStream {
    return createReadStream(this.blobPath(digest));
  }

  /**
   * Makes sure the blob is in the store, fetching it from `source` if it is not. Returns true if
   * this call fetched it, false if it was there (or another ingest brought it).
   */
  ingest(digest: string, expectedSize: number | undefined, source: BlobSource): Promise<boolean> {
    const path = this.blobPath(digest);
    const running = this.inflight.get(digest);
    if (running) return running.then(() => false); // joined another fetch of the same blob
    const p = this.ingestLocked(digest, path, expectedSize, source).finally(() => this.inflight.delete(digest));
    this.inflight.set(digest, p);
    return p;
  }

  private async ingestLocked(digest: string, path: string, expectedSize: number | undefined, source: BlobSource): Promise<boolean> {
    if (await this.has(digest)) return false;
    const lock = await acquireLock(lockPath(this.locksDir, 'blob', digest.slice('sha256:'.length)), { timeoutMs: 30 * 60_000 });
    try {
      if (await this.has(digest)) return false; // another process brought it while we waited
      const tmp = tempPathFor(path);
      const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      let ok = false;
      try {
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of await source.open()) {
          size += chunk.length;
          if (expectedSize !== undefined && size > expectedSize) throw new DigestMismatch(digest, `more than the ${expectedSize} bytes announced`);
          hash.update(chunk);
          await fh.write(chunk);
          source.onProgress?.(size);
        }
        if (expectedSize !== undefined && size !== expectedSize) throw new DigestMismatch(digest, `got ${size} bytes, ${expectedSize} announced`);
        const got = `sha256:${hash.digest('hex')}`;
        if (got !== digest) throw new DigestMismatch(digest, `the content hashes to ${got}`);
        await fh.sync();
        ok = true;
      } finally {
        await fh.close();
        if (!ok) await fs.rm(tmp, { force: true });
      }
      await fs.rename(tmp, path);
      await syncDir(this.blobsDir);
      return true;
    } finally {
      await lock.release();
    }
  }
}
