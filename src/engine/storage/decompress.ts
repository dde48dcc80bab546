// Layer (de)compression as async byte streams. What a blob holds is read from its first bytes,
// never taken from a media type (registries and tools mislabel): gzip through node:zlib, zstd
// through Debian's `zstd` program in a pipe (Node 20 has no zstd decoder), anything else passes
// through as it is (a plain tar). Builtins load on first use: push may import this module eagerly.
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgument } from '../errors.ts';
import { lazyRequire } from '../../sys/lazy-require.ts';
import { ProgramFailed, ProgramNotFound } from '../../sys/program.ts';

const zlib = lazyRequire<typeof import('node:zlib')>('node:zlib');
const stream = lazyRequire<typeof import('node:stream')>('node:stream');
const childProcess = lazyRequire<typeof import('node:child_process')>('node:child_process');

export type Compression = 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'none';

/** Output chunks: big enough that per-chunk costs vanish, small enough to stream. */
const CHUNK = 128 << 10;
/** How far a decoder may run ahead of its reader (it works on another thread or process). */
const READ_AHEAD = 1 << 20;

/** The compression a stream starting with `head` uses (4 bytes are enough; fewer means none). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  if (head.length >= 4 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58) return 'xz';
  return 'none';
}

export interface DecompressOptions {
  /**
   * Told when a chunk of the input will not be read again, so its buffer may be used again (the
   * unpack worker returns its input buffers so). Told for gzip and plain input; zstd's never are.
   */
  consumed?: (chunk: Buffer) => void;
}

/**
 * The decompressed bytes of `input`: gzip (1f 8b), zstd (28 b5 2f fd) or, for anything else,
 * `input` itself. Errors of `input` come out unchanged; corrupt compressed data is an
 * InvalidArgument. Stopping early (break/return) stops the decoder and returns `input`.
 */
export async function* decompress(input: AsyncIterable<Buffer>, opts: DecompressOptions = {}): AsyncGenerator<Buffer, void, undefined> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLen = 0;
  let ended = false;
  try {
    while (headLen < 4) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      if (r.value.length === 0) continue;
      head.push(r.value);
      headLen += r.value.length;
    }
  } catch (err) {
    await it.return?.();
    throw err;
  }
  const kind = detectCompression(head.length === 1 ? head[0]! : Buffer.concat(head));
  const rest = ended ? undefined : it;
  switch (kind) {
    case 'gzip':
      yield* throughZlib(replay(head, rest), zlib().createGunzip(zlibOptions({ chunkSize: CHUNK, readableHighWaterMark: READ_AHEAD })), 'gzip', opts.consumed);
      return;
    case 'zstd': {
      let bin: string;
      try {
        bin = findZstd();
      } catch (err) {
        await rest?.return?.();
        throw err;
      }
      yield* unzstd(bin, replay(head, rest));
      return;
    }
    case 'bzip2':
    case 'xz':
      await rest?.return?.();
      throw new InvalidArgument(`unsupported layer compression ${kind}: berth reads gzip, zstd and plain tar layers`);
    default: {
      const plain = replay(head, rest);
      if (!opts.consumed) {
        yield* plain;
        return;
      }
      // our reader is done with a chunk when it asks for the next one
      for await (const chunk of plain) {
        yield chunk;
        opts.consumed(chunk);
      }
    }
  }
}

/** gzip of `input` (for pushing a tar): `level` 1–9, default zlib's 6 as Docker's push uses. */
export function compressGzip(input: AsyncIterable<Buffer>, opts: { level?: number } = {}): AsyncGenerator<Buffer, void, undefined> {
  return throughZlib(replay([], input[Symbol.asyncIterator]()), zlib().createGzip(zlibOptions({ level: opts.level ?? 6, chunkSize: CHUNK, readableHighWaterMark: READ_AHEAD })), 'gzip');
}

/** zlib hands its options to the Transform it is, so stream options work (the types omit them). */
const zlibOptions = (o: import('node:zlib').ZlibOptions & import('node:stream').TransformOptions) => o as import('node:zlib').ZlibOptions;

type Source = AsyncIterableIterator<Buffer> & { return(): Promise<IteratorResult<Buffer, undefined>> };

/**
 * The chunks already read, then the rest of the iterator. A plain iterator rather than a
 * generator: return() must reach `rest` even before the first next() (a generator that has not
 * started skips its finally).
 */
function replay(head: Buffer[], rest: AsyncIterator<Buffer> | undefined): Source {
  let i = 0;
  const self: Source = {
    [Symbol.asyncIterator]: () => self,
    async next() {
      if (i < head.length) return { value: head[i++]!, done: false };
      if (!rest) return { value: undefined, done: true };
      const r = await rest.next();
      if (r.done) rest = undefined;
      return r.done ? { value: undefined, done: true } : r;
    },
    async return() {
      i = head.length;
      const r = rest;
      rest = undefined;
      await r?.return?.();
      return { value: undefined, done: true };
    },
  };
  return self;
}

async function* throughZlib(source: Source, z: import('node:zlib').Gzip | import('node:zlib').Gunzip, what: string, consumed?: (chunk: Buffer) => void): AsyncGenerator<Buffer, void, undefined> {
  const { Readable, pipeline } = stream();
  let src: import('node:stream').Readable | undefined;
  if (consumed) {
    void feedZlib(source, z, consumed);
  } else {
    src = Readable.from(source, { objectMode: false, highWaterMark: READ_AHEAD });
    // an error on either side destroys both; the loop below then throws it
    pipeline(src, z, () => {});
  }
  try {
    for await (const chunk of z as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new InvalidArgument(`invalid ${what} data: ${(err as Error).message}`, { cause: err });
    throw err;
  } finally {
    z.destroy();
    if (src) src.destroy();
    else await source.return();
  }
}

/**
 * Writes `source` into `z` as a pipeline would, telling `consumed` of each chunk once zlib has
 * read it all (a write's callback). An error of `source` destroys `z` with it; a destroyed `z`
 * stops the reading.
 */
async function feedZlib(source: Source, z: import('node:zlib').Gunzip, consumed: (chunk: Buffer) => void): Promise<void> {
  try {
    for (;;) {
      if (z.destroyed) break;
      const r = await source.next();
      if (r.done || z.destroyed) break;
      const chunk = r.value;
      // after an error the chunk may still be in zlib's hands: it is then not given back
      const more = z.write(chunk, (err) => err || consumed(chunk));
      if (!more) await new Promise<void>((resolve) => {
        const done = () => {
          z.off('drain', done);
          z.off('close', done);
          resolve();
        };
        z.on('drain', done);
        z.on('close', done);
      });
    }
    if (z.destroyed) await source.return();
    else z.end();
  } catch (err) {
    z.destroy(err as Error);
    await source.return().catch(() => undefined);
  }
}

let zstdPath: string | undefined;

function findZstd(): string {
  if (zstdPath) return zstdPath;
  const dirs = (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/bin']) {
    const p = join(dir, 'zstd');
    try {
      accessSync(p, fsConstants.X_OK);
      return (zstdPath = p);
    } catch {
      // not here
    }
  }
  throw new ProgramNotFound('zstd');
}

const ZSTD_ARGS = ['-dcq'] as const;
const MAX_STDERR = 64 << 10;

async function* unzstd(bin: string, source: Source): AsyncGenerator<Buffer, void, undefined> {
  const { Readable, pipeline } = stream();
  const child = childProcess().spawn(bin, ZSTD_ARGS, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < MAX_STDERR) stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  // errors of the input are ours to pass on; a broken pipe to zstd is told by its exit status
  let inputError: unknown;
  const fed: Source = {
    [Symbol.asyncIterator]: () => fed,
    next: () =>
      source.next().catch((err: unknown) => {
        inputError = err;
        child.kill('SIGKILL');
        throw err;
      }),
    return: () => source.return(),
  };
  const src = Readable.from(fed, { objectMode: false, highWaterMark: READ_AHEAD });
  child.stdin!.on('error', () => {});
  pipeline(src, child.stdin!, () => {});
  let finished = false;
  try {
    for await (const chunk of child.stdout! as Readable & AsyncIterable<Buffer>) yield chunk;
    const { code, signal, error } = await exited;
    if (inputError !== undefined) throw inputError;
    if (error) throw new ProgramNotFound('zstd');
    if (code !== 0) {
      const failed = new ProgramFailed('zstd', ZSTD_ARGS, code, signal, stderr);
      throw new InvalidArgument(`invalid zstd data: ${stderr.trim().replace(/\s+/g, ' ') || failed.message}`, { cause: failed });
    }
    finished = true;
  } finally {
    if (!finished && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    src.destroy();
  }
}
