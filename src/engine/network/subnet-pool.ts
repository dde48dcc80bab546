// Where new networks get their subnets: Docker's default address pools (or the ones the
// operator configured), skipping every block that overlaps a route on the host or another
// network. Pure, apart from reading the host's routes.
import { readFileSync } from 'node:fs';
import { InvalidArgument } from '../errors.ts';
import { cidrOverlaps, cidrSize, parseCidr, type Cidr } from './ipnet.ts';

export interface AddressPool {
  base: Cidr;
  /** The prefix length of each subnet carved from base. */
  size: number;
}

/** Docker's defaults: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s. */
export const DEFAULT_POOLS: AddressPool[] = [
  { base: parseCidr('172.17.0.0/16'), size: 16 },
  { base: parseCidr('172.18.0.0/15'), size: 16 },
  { base: parseCidr('172.20.0.0/14'), size: 16 },
  { base: parseCidr('172.24.0.0/13'), size: 16 },
  { base: parseCidr('192.168.0.0/16'), size: 20 },
];

/** Pools as dockerd's --default-address-pool writes them: `base=10.10.0.0/16,size=24`, several separated by spaces or semicolons. */
export function parsePools(text: string): AddressPool[] {
  const pools: AddressPool[] = [];
  for (const item of text.split(/[\s;]+/).filter(Boolean)) {
    const fields = Object.fromEntries(item.split(',').map((kv) => kv.split('=') as [string, string]));
    if (!fields['base'] || !fields['size']) throw new InvalidArgument(`invalid address pool ${JSON.stringify(item)}: want base=CIDR,size=N`);
    const base = parseCidr(fields['base']);
    const size = Number(fields['size']);
    if (!Number.isInteger(size) || size < base.bits || size > 30) throw new InvalidArgument(`invalid address pool ${JSON.stringify(item)}: size must be between ${base.bits} and 30`);
    pools.push({ base, size });
  }
  return pools;
}

/** The first subnet of the pools that overlaps none of `used`. */
export function pickSubnet(pools: readonly AddressPool[], used: readonly Cidr[]): Cidr | undefined {
  for (const pool of pools) {
    const step = cidrSize({ base: 0, bits: pool.size });
    const count = cidrSize(pool.base) / step;
    for (let i = 0; i < count; i++) {
      const c: Cidr = { base: (pool.base.base + i * step) >>> 0, bits: pool.size };
      if (!used.some((u) => cidrOverlaps(u, c))) return c;
    }
  }
  return undefined;
}

/** The destinations of /proc/net/route (default routes left out: they overlap everything). */
export function parseRoutes(text: string): Cidr[] {
  const out: Cidr[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // little-endian hex as the kernel prints it
    const le = (h: string) => {
      const n = Number.parseInt(h, 16);
      return (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | (n >>> 24)) >>> 0;
    };
    const dest = le(f[1]!);
    const maskN = le(f[7]!);
    if (maskN === 0) continue;
    let bits = 0;
    while (bits < 32 && (maskN & (0x80000000 >>> bits)) !== 0) bits++;
    out.push({ base: dest, bits });
  }
  return out;
}

export function hostRoutes(): Cidr[] {
  try {
    return parseRoutes(readFileSync('/proc/net/route', 'utf8'));
  } catch {
    return [];
  }
}
