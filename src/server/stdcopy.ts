// Docker's stream multiplexing for attach, exec and logs without a TTY: every frame is an
// 8-byte header [stream, 0, 0, 0, size as uint32 big-endian] and then `size` bytes.
import { Transform, type TransformCallback } from 'node:stream';

export const enum StreamType {
  Stdin = 0,
  Stdout = 1,
  Stderr = 2,
  /** An error from the engine itself; the CLI shows it and fails. */
  SystemErr = 3,
}

export const HEADER_SIZE = 8;
/** Frames larger than this are split, so no client needs an unbounded buffer. */
export const MAX_FRAME = 1 << 20;

/** One or more frames carrying `payload` on `stream` (none for an empty payload). */
export function muxFrame(stream: StreamType, payload: Buffer | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const frames: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_FRAME) {
    const chunk = data.subarray(off, off + MAX_FRAME);
    const header = Buffer.alloc(HEADER_SIZE);
    header[0] = stream;
    header.writeUInt32BE(chunk.length, 4);
    frames.push(header, chunk);
  }
  return Buffer.concat(frames);
}

export interface Frame {
  stream: StreamType;
  payload: Buffer;
}

/**
 * Incremental decoder: feed it bytes in any split, get whole frames out. Throws on a header
 * whose stream byte is not 0–3 or whose padding is not zero (the stream is not multiplexed).
 */
export class Demuxer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= HEADER_SIZE) {
      const stream = this.buf[0]!;
      if (stream > 3 || this.buf[1] !== 0 || this.buf[2] !== 0 || this.buf[3] !== 0) {
        throw new Error(`not a multiplexed stream: bad frame header ${this.buf.subarray(0, HEADER_SIZE).toString('hex')}`);
      }
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < HEADER_SIZE + size) break;
      out.push({ stream, payload: this.buf.subarray(HEADER_SIZE, HEADER_SIZE + size) });
      this.buf = this.buf.subarray(HEADER_SIZE + size);
    }
    return out;
  }

  /** Bytes of an unfinished frame still waiting for the rest. */
  get pending(): number {
    return this.buf.length;
  }
}

/** A stream that frames whatever is written to it as `stream` (e.g. a process's stdout). */
export class MuxStream extends Transform {
  constructor(private readonly stream: StreamType) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.length) this.push(muxFrame(this.stream, chunk));
    done();
  }
}
