// Streams between a client and conmon's attach socket. Each packet conmon sends is one byte
// naming the pipe (2 stdout, 3 stderr) and the data; what the client types goes back as plain
// bytes, and the client's end of input becomes a half-close (conmon then closes the process's
// stdin, unless told to leave it open). Used by container attach and exec alike.
import { constants as fsConstants, promises as fs } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { InvalidArgument } from '../errors.ts';

export type OutputStream = 1 | 2;

/** conmon reads one packet into a 32 KiB buffer (recvfrom of CONN_SOCK_BUF_SIZE - 1): more is cut off. */
const MAX_INPUT_PACKET = 32 * 1024 - 1;

/** Sends client input as packets conmon reads whole. */
function sendInput(sock: Socket, data: Buffer): boolean {
  let ok = true;
  for (let off = 0; off < data.length; off += MAX_INPUT_PACKET) ok = sock.write(data.subarray(off, off + MAX_INPUT_PACKET));
  return ok;
}

const CONMON_STDOUT = 2;
const CONMON_STDERR = 3;

/** Docker's default detach sequence: ctrl-p, ctrl-q. */
export const DEFAULT_DETACH_KEYS = [16, 17];

/** Docker's detach-keys syntax: `ctrl-p,ctrl-q`, `a,ctrl-@`… (letters, ctrl-<a-z@[\\]^_>). */
export function parseDetachKeys(spec: string | undefined): number[] {
  if (spec === undefined || spec === '') return DEFAULT_DETACH_KEYS;
  return spec.split(',').map((key) => {
    if (key.length === 1) return key.charCodeAt(0);
    const m = /^ctrl-(.)$/i.exec(key);
    if (m) {
      const c = m[1]!.toLowerCase();
      if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 96;
      const special: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };
      if (c in special) return special[c]!;
    }
    throw new InvalidArgument(`Invalid detach keys (${key}) provided`);
  });
}

export interface PumpOptions {
  /** What the client types; undefined when stdin is not attached. */
  stdin?: Readable;
  stdout: boolean;
  stderr: boolean;
  write(stream: OutputStream, data: Buffer): void;
  detachKeys?: number[];
}

export type PumpEnd = 'ended' | 'detached' | 'client-gone';

/**
 * Relays until the process's output ends (conmon closes the socket when it exits), the client
 * types the detach keys, or the client goes away.
 */
export function pumpAttach(sock: Socket, opts: PumpOptions): Promise<PumpEnd> {
  return new Promise((resolve) => {
    let done = false;
    // a process that reads slowly holds the client back rather than filling our memory
    const paced = (chunk: Buffer) => {
      onInput(chunk);
      if (!done && sock.writableNeedDrain) {
        opts.stdin!.pause();
        sock.once('drain', () => opts.stdin!.resume());
      }
    };
    const finish = (how: PumpEnd) => {
      if (done) return;
      done = true;
      opts.stdin?.off('data', paced);
      if (how !== 'ended') sock.destroy();
      resolve(how);
    };
    sock.on('data', (pkt: Buffer) => {
      if (pkt.length < 1) return;
      const data = pkt.subarray(1);
      if (pkt[0] === CONMON_STDOUT && opts.stdout) opts.write(1, data);
      else if (pkt[0] === CONMON_STDERR && opts.stderr) opts.write(2, data);
    });
    sock.on('end', () => finish('ended'));
    sock.on('close', () => finish('ended'));
    sock.on('error', () => finish('ended'));
    // a process that wrote nothing and ended before we got here: its 'end' has been and gone
    if (sock.readableEnded || sock.destroyed) queueMicrotask(() => finish('ended'));
    const keys = opts.detachKeys ?? DEFAULT_DETACH_KEYS;
    let matched = 0;
    const onInput = (chunk: Buffer) => {
      if (keys.length) {
        // pass bytes through until the whole detach sequence is seen; a partial match is held back
        const out: number[] = [];
        for (const b of chunk) {
          if (b === keys[matched]) {
            matched++;
            if (matched === keys.length) {
              if (out.length) sendInput(sock, Buffer.from(out));
              return finish('detached');
            }
            continue;
          }
          if (matched) out.push(...keys.slice(0, matched));
          matched = b === keys[0] ? 1 : 0;
          if (!matched) out.push(b);
        }
        if (out.length) sendInput(sock, Buffer.from(out));
      } else {
        sendInput(sock, chunk);
      }
    };
    if (opts.stdin) {
      opts.stdin.on('data', paced);
      opts.stdin.once('end', () => {
        if (!done && !sock.destroyed) sock.end(); // half-close: stdin is finished
      });
      opts.stdin.once('close', () => {
        // the client went away entirely (not just a half-close)
        if (!done && (opts.stdin as Readable & { destroyed?: boolean }).destroyed && !opts.stdin!.readableEnded) finish('client-gone');
      });
    }
  });
}

/** Tells conmon the terminal's new size (its control fifo: `1 <height> <width>`). */
export async function resizeTerminal(ctlFifo: string, height: number, width: number): Promise<void> {
  let fh;
  try {
    fh = await fs.open(ctlFifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch {
    return; // no conmon listening: nothing to resize
  }
  try {
    await fh.write(`1 ${height} ${width}\n`);
  } finally {
    await fh.close();
  }
}
