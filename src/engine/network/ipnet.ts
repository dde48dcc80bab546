// IPv4 addresses and CIDR blocks as numbers: parsing, printing, overlap. Pure.
import { InvalidArgument } from '../errors.ts';

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  bits: number;
}

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** `10.1.0.0/16`; host bits are cleared (Docker accepts 10.1.2.3/16 as 10.1.0.0/16). */
export function parseCidr(text: string): Cidr {
  const [addr, len, ...rest] = text.split('/');
  const ip = addr === undefined ? undefined : parseIPv4(addr);
  const bits = len !== undefined && /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (ip === undefined || rest.length || !(bits >= 0 && bits <= 32)) throw new InvalidArgument(`invalid CIDR address: ${text}`);
  return { base: (ip & mask(bits)) >>> 0, bits };
}

export function cidrText(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.bits}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.bits);
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.bits)) >>> 0) === c.base;
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  return ((a.base & mask(bits)) >>> 0) === ((b.base & mask(bits)) >>> 0);
}

/** Whether `inner` lies wholly inside `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.bits >= outer.bits && cidrContains(outer, inner.base);
}

/** Whether an IPv4 text is an IPv6 CIDR or address (berth's networks are IPv4 only). */
export function isIPv6Text(text: string): boolean {
  return text.includes(':');
}
