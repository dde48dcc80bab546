// Holding host ports: a socket bound (and for TCP listening) on a published port keeps every
// other program, and every other container, off it while the container runs. The fds go to
// conmon, which keeps them as long as it lives; the kernel's DNAT sends the traffic to the
// container before it could reach them. Through koffi: Node's sockets can't be handed to a
// child as plain inherited fds.
import { lazyRequire } from './lazy-require.ts';

type Koffi = typeof import('koffi');
const koffiModule = lazyRequire<Koffi>('koffi');

interface SockLib {
  koffi: Koffi;
  socket: (domain: number, type: number, protocol: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  listen: (fd: number, backlog: number) => number;
  getsockname: (fd: number, addr: Buffer, len: Buffer) => number;
  close: (fd: number) => number;
}

let lib: SockLib | undefined;

function load(): SockLib {
  if (lib) return lib;
  const koffi = koffiModule();
  const c = koffi.load('libc.so.6');
  lib = {
    koffi,
    socket: c.func('int socket(int domain, int type, int protocol)') as SockLib['socket'],
    setsockopt: c.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)') as SockLib['setsockopt'],
    bind: c.func('int bind(int fd, const void *addr, uint32_t len)') as SockLib['bind'],
    listen: c.func('int listen(int fd, int backlog)') as SockLib['listen'],
    getsockname: c.func('int getsockname(int fd, _Inout_ void *addr, _Inout_ uint32_t *len)') as unknown as SockLib['getsockname'],
    close: c.func('int close(int fd)') as SockLib['close'],
  };
  return lib;
}

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
export const EADDRINUSE = 98;

export class PortInUse extends Error {
  constructor(readonly hostIp: string, readonly port: number) {
    super(`port ${port} is already in use on ${hostIp || '0.0.0.0'}`);
  }
}

function sockaddr(ip: string, port: number): { family: number; addr: Buffer } {
  if (ip.includes(':')) {
    const addr = Buffer.alloc(28);
    addr.writeUInt16LE(AF_INET6, 0);
    addr.writeUInt16BE(port, 2);
    expandV6(ip).copy(addr, 8);
    return { family: AF_INET6, addr };
  }
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_INET, 0);
  addr.writeUInt16BE(port, 2);
  const parts = (ip || '0.0.0.0').split('.').map(Number);
  for (let i = 0; i < 4; i++) addr[4 + i] = parts[i] ?? 0;
  return { family: AF_INET, addr };
}

function expandV6(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(Number.parseInt(g || '0', 16), i * 2));
  return out;
}

/**
 * Binds `port` (0: any free one) on `ip` ('' = every IPv4 address) for `protocol`; returns the
 * fd (close-on-exec: only what is passed on explicitly reaches a child) and the port bound.
 * Throws PortInUse when another socket has it.
 */
export function reservePort(ip: string, port: number, protocol: 'tcp' | 'udp' | 'sctp'): { fd: number; port: number } {
  const { socket, setsockopt, bind, listen, getsockname, close, koffi } = load();
  const { family, addr } = sockaddr(ip, port);
  const fd = socket(family, (protocol === 'udp' ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket: errno ${koffi.errno()}`);
  try {
    if (family === AF_INET6) {
      const one = Buffer.alloc(4);
      one.writeInt32LE(1);
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4);
    }
    if (bind(fd, addr, addr.length) !== 0) {
      const errno = koffi.errno();
      if (errno === EADDRINUSE) throw new PortInUse(ip, port);
      throw new Error(`bind ${ip || '0.0.0.0'}:${port}: errno ${errno}`);
    }
    if (protocol !== 'udp' && listen(fd, 1) !== 0) throw new Error(`listen ${ip || '0.0.0.0'}:${port}: errno ${koffi.errno()}`);
    let bound = port;
    if (port === 0) {
      const out = Buffer.alloc(addr.length);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(out.length);
      if (getsockname(fd, out, len) !== 0) throw new Error(`getsockname: errno ${koffi.errno()}`);
      bound = out.readUInt16BE(2);
    }
    return { fd, port: bound };
  } catch (err) {
    close(fd);
    throw err;
  }
}

export function closeFd(fd: number): void {
  load().close(fd);
}
