// Addresses for containers on a network: netavark 1.4 does no IPAM, so berth leases them. One
// file per leased address, `<runroot>/ipam/<network id>/<ip>`, holding the container's id: an
// O_EXCL create is the lease, so two processes can never take the same address, and nothing is
// rewritten. A lease whose container has no network intent any more (a crash between the lease
// and the intent's removal) is stale and taken over. The runroot is a tmpfs: a reboot, which
// stops every container, frees every lease.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { Conflict, InvalidArgument } from '../errors.ts';
import { cidrContains, cidrSize, formatIPv4, parseCidr, parseIPv4 } from './ipnet.ts';
import type { NetavarkSubnet, NetworkDef } from './network-store.ts';

export function ipamDir(ctx: EngineContext, networkId: string): string {
  return join(ctx.paths.runroot, 'ipam', networkId);
}

/** Whether a container still claims its leases (its intent file exists). */
export type ClaimCheck = (containerId: string) => Promise<boolean>;

async function tryLease(dir: string, ip: string, containerId: string, alive: ClaimCheck): Promise<boolean> {
  const file = join(dir, ip);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(file, containerId, { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (owner === undefined) continue;
    if (owner === containerId) return true;
    if (owner && (await alive(owner))) return false;
    await fs.rm(file, { force: true });
  }
  return false;
}

function subnetRange(s: NetavarkSubnet): { first: number; last: number; reserved: Set<number> } {
  const net = parseCidr(s.subnet);
  let first = net.base + 1;
  let last = net.base + cidrSize(net) - 2;
  if (s.lease_range?.start_ip) first = Math.max(first, parseIPv4(s.lease_range.start_ip)!);
  if (s.lease_range?.end_ip) last = Math.min(last, parseIPv4(s.lease_range.end_ip)!);
  const reserved = new Set<number>();
  if (s.gateway) reserved.add(parseIPv4(s.gateway)!);
  return { first, last, reserved };
}

/**
 * Leases an address on `def` for the container: `wanted` when given (Docker's 400 when it is
 * outside the network's subnets, 409-kind when taken), else the lowest free one.
 */
export async function leaseAddress(ctx: EngineContext, def: NetworkDef, containerId: string, alive: ClaimCheck, wanted?: string): Promise<{ ip: string; subnet: NetavarkSubnet }> {
  const dir = ipamDir(ctx, def.id);
  await fs.mkdir(dir, { recursive: true });
  const subnets = (def.subnets ?? []).filter((s) => !s.subnet.includes(':'));
  if (wanted) {
    const n = parseIPv4(wanted);
    const subnet = n === undefined ? undefined : subnets.find((s) => cidrContains(parseCidr(s.subnet), n));
    if (n === undefined || !subnet) throw new InvalidArgument(`no configured subnet or ip-range contain the IP address ${wanted}`);
    if (subnet.gateway === wanted || !(await tryLease(dir, wanted, containerId, alive))) throw new Conflict(`Address already in use`);
    return { ip: wanted, subnet };
  }
  for (const subnet of subnets) {
    const { first, last, reserved } = subnetRange(subnet);
    for (let n = first; n <= last; n++) {
      if (reserved.has(n)) continue;
      const ip = formatIPv4(n);
      if (await tryLease(dir, ip, containerId, alive)) return { ip, subnet };
    }
  }
  throw new Conflict(`no available IPv4 addresses on network ${def.name}`);
}

/** Frees every address the container holds on the network (idempotent). */
export async function releaseAddresses(ctx: EngineContext, networkId: string, containerId: string): Promise<void> {
  const dir = ipamDir(ctx, networkId);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (n) => {
      const owner = await fs.readFile(join(dir, n), 'utf8').catch(() => undefined);
      if (owner === containerId) await fs.rm(join(dir, n), { force: true });
    }),
  );
}

/** Drops a removed network's lease directory. */
export async function forgetNetworkLeases(ctx: EngineContext, networkId: string): Promise<void> {
  await fs.rm(ipamDir(ctx, networkId), { recursive: true, force: true });
}
