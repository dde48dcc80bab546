// Client side of a SOCK_SEQPACKET unix socket (conmon's attach socket) as a net.Socket.
//
// Node's net module refuses SEQPACKET fds ("Unsupported fd type"), and reading one through fs
// parks a libuv threadpool thread per stream. Instead the fd, connected through the FFI, is
// given to a libuv pipe handle: libuv reads sockets with read(2) into a 64 KiB buffer from its
// epoll loop, and read(2) on a SEQPACKET socket returns exactly one packet. So every 'data'
// chunk is one whole packet (conmon's are at most 8 KiB + 1), no thread is held, and end()
// is shutdown(SHUT_WR): the half-close conmon takes as "stdin is finished".
//
// One catch: libuv takes a short read followed by POLLHUP as "all read" (true of a byte
// stream), but a SEQPACKET read is short by nature, so packets still queued when the peer
// closes (the last output of a process that just exited) would be dropped. At EOF the rest
// of the queue is read here, before the stream ends.
import { readSync } from 'node:fs';
import { Socket } from 'node:net';
import { connectUnix, SOCK_SEQPACKET } from './libc.ts';

interface PipeWrap {
  Pipe: new (type: number) => { open(fd: number): number };
  constants: { SOCKET: number };
}

let pipeWrap: PipeWrap | undefined;

export function connectSeqpacket(path: string): Socket {
  // process.binding('pipe_wrap') is on Node's allow-list and not runtime-deprecated (DEP0111 is
  // documentation-only for it); it is the one way to give libuv an fd of a type Node won't guess.
  pipeWrap ??= (process as unknown as { binding(name: string): PipeWrap }).binding('pipe_wrap');
  const fd = connectUnix(path, SOCK_SEQPACKET);
  const handle = new pipeWrap.Pipe(pipeWrap.constants.SOCKET);
  const err = handle.open(fd);
  if (err !== 0) throw new Error(`attach socket ${path}: uv_pipe_open failed (${err})`);
  const sock = new Socket({ handle, readable: true, writable: true } as unknown as ConstructorParameters<typeof Socket>[0]);
  // a writev of several queued chunks would be one packet (too big for the reader, or for the
  // socket: EMSGSIZE): each write stays a packet of its own
  (sock as unknown as { _writev: null })._writev = null;
  const push = sock.push.bind(sock);
  sock.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk === null) for (const pkt of drainQueued(fd)) push(pkt);
    return push(chunk, encoding);
  };
  return sock;
}

/** The packets still queued on a (non-blocking) socket whose peer has closed. */
function drainQueued(fd: number): Buffer[] {
  const out: Buffer[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch {
      break; // EAGAIN, or the handle is gone
    }
    if (n <= 0) break;
    out.push(Buffer.from(buf.subarray(0, n)));
  }
  return out;
}
