// Network definitions on disk: `<root>/networks/<name>.json`, each in netavark's form (what its
// `setup` takes as network_info) plus what Docker shows and netavark ignores (`docker`). The
// predefined `bridge` is written on first use (its subnet is picked then); `host` and `none`
// are never stored. Creation and removal run under one store-wide lock, so two processes can't
// hand out the same name, subnet or bridge interface.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { Conflict, Forbidden, InvalidArgument, NotFound } from '../errors.ts';
import { readJson, writeJsonAtomic } from '../../store/atomic.ts';
import { lockPath, withLock } from '../../store/lock.ts';
import { cidrOverlaps, cidrText, formatIPv4, parseCidr, type Cidr } from './ipnet.ts';
import { DEFAULT_POOLS, hostRoutes, parsePools, pickSubnet } from './subnet-pool.ts';
import { claim, unclaim } from './host-claims.ts';

/** One subnet as netavark takes it. */
export interface NetavarkSubnet {
  subnet: string;
  gateway?: string;
  lease_range?: { start_ip?: string; end_ip?: string };
}

/** A network as netavark's `setup` takes it in network_info. */
export interface NetavarkNetwork {
  name: string;
  id: string;
  driver: string;
  network_interface?: string;
  created?: string;
  subnets?: NetavarkSubnet[];
  ipv6_enabled: boolean;
  internal: boolean;
  dns_enabled: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  ipam_options?: Record<string, string>;
}

/** What Docker shows of a network and netavark has no field for. */
export interface DockerNetworkExtras {
  created: string;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** IPAM.Config as inspect shows it. */
  ipamConfig: Array<{ Subnet: string; Gateway?: string; IPRange?: string }>;
  ipamOptions: Record<string, string> | null;
  enableIPv6: boolean;
}

export interface NetworkDef extends NetavarkNetwork {
  docker: DockerNetworkExtras;
}

export const PREDEFINED = ['bridge', 'host', 'none'] as const;
export const DEFAULT_BRIDGE_INTERFACE = 'berth0';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const nowRfc3339 = () => new Date().toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}000000Z`);

/**
 * The netavark form of a definition (what goes in network_info). Its name is made of the id:
 * netavark names firewall chains and aardvark's files after the network's name, and two stores
 * on one host (each with its own `bridge`) must not share them.
 */
export function netavarkForm(def: NetworkDef): NetavarkNetwork {
  const { docker: _docker, ...rest } = def;
  return { ...rest, name: `berth-${def.id.slice(0, 12)}` };
}

export class NetworkStore {
  constructor(readonly ctx: EngineContext) {}

  private file(name: string): string {
    return join(this.ctx.paths.networks, `${name}.json`);
  }

  /** Runs `fn` holding the store-wide network lock. */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return fs.mkdir(this.ctx.paths.locks, { recursive: true }).then(() => withLock(lockPath(this.ctx.paths.locks, 'networks', 'store'), fn));
  }

  /** host and none: fixed ids derived from the store, so they stay the same across processes. */
  private special(name: 'host' | 'none'): NetworkDef {
    const id = createHash('sha256').update(`${this.ctx.paths.root}\0${name}`).digest('hex');
    return {
      name,
      id,
      driver: name === 'host' ? 'host' : 'null',
      ipv6_enabled: false,
      internal: false,
      dns_enabled: false,
      docker: { created: ZERO_CREATED, attachable: false, labels: {}, options: {}, ipamConfig: [], ipamOptions: null, enableIPv6: false },
    };
  }

  private async stored(): Promise<NetworkDef[]> {
    const names = await fs.readdir(this.ctx.paths.networks).catch(() => [] as string[]);
    const defs = await Promise.all(
      names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => readJson<NetworkDef>(join(this.ctx.paths.networks, n)).catch(() => undefined)),
    );
    return defs.filter((d): d is NetworkDef => d !== undefined);
  }

  /** Every network, the predefined ones included (the bridge written first if it isn't yet). */
  async list(): Promise<NetworkDef[]> {
    if (!existsSync(this.file('bridge'))) await this.ensureBridge();
    const defs = await this.stored();
    return [...defs, this.special('host'), this.special('none')];
  }

  /** A network by full name, full id, or unique id prefix; 404 in Docker's words. */
  async find(ref: string): Promise<NetworkDef> {
    if (ref === 'host' || ref === 'none') return this.special(ref);
    if (ref === 'bridge') return this.ensureBridge();
    if (NAME_RE.test(ref)) {
      const def = await readJson<NetworkDef>(this.file(ref)).catch(() => undefined);
      if (def) return def;
    }
    const all = await this.list();
    const byId = all.find((d) => d.id === ref);
    if (byId) return byId;
    const byPrefix = /^[0-9a-f]+$/.test(ref) ? all.filter((d) => d.id.startsWith(ref)) : [];
    if (byPrefix.length > 1) throw new NotFound(`network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    if (byPrefix.length === 1) return byPrefix[0]!;
    throw new NotFound(`network ${ref} not found`);
  }

  /** The default bridge, written on first use with the first free subnet of the pools. */
  async ensureBridge(): Promise<NetworkDef> {
    const existing = await readJson<NetworkDef>(this.file('bridge')).catch(() => undefined);
    if (existing) return existing;
    return this.withLock(async () => {
      const again = await readJson<NetworkDef>(this.file('bridge')).catch(() => undefined);
      if (again) return again;
      const subnet = await this.freeSubnet(await this.stored(), this.file('bridge'));
      const gateway = formatIPv4(subnet.base + 1);
      const iface = await this.freeInterface(await this.stored(), this.file('bridge'), DEFAULT_BRIDGE_INTERFACE);
      const def: NetworkDef = {
        name: 'bridge',
        id: randomBytes(32).toString('hex'),
        driver: 'bridge',
        network_interface: iface,
        created: nowRfc3339(),
        subnets: [{ subnet: cidrText(subnet), gateway }],
        ipv6_enabled: false,
        internal: false,
        // Docker's default bridge has no name resolution between containers
        dns_enabled: false,
        ipam_options: { driver: 'host-local' },
        docker: {
          created: nowRfc3339(),
          attachable: false,
          labels: {},
          options: {
            'com.docker.network.bridge.default_bridge': 'true',
            'com.docker.network.bridge.enable_icc': 'true',
            'com.docker.network.bridge.enable_ip_masquerade': 'true',
            'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
            'com.docker.network.bridge.name': iface,
            'com.docker.network.driver.mtu': '1500',
          },
          ipamConfig: [{ Subnet: cidrText(subnet), Gateway: gateway }],
          ipamOptions: null,
          enableIPv6: false,
        },
      };
      await fs.mkdir(this.ctx.paths.networks, { recursive: true });
      await writeJsonAtomic(this.file('bridge'), def);
      return def;
    });
  }

  /** The first subnet of the pools that overlaps no network, no host route, and no other store's claim. */
  private async freeSubnet(defs: NetworkDef[], defFile: string): Promise<Cidr> {
    const pools = this.ctx.networkPools ? parsePools(this.ctx.networkPools) : DEFAULT_POOLS;
    const used = [...usedSubnets(defs), ...hostRoutes()];
    for (;;) {
      const subnet = pickSubnet(pools, used);
      if (!subnet) throw new InvalidArgument('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
      if (await claim('subnet', cidrText(subnet), defFile)) return subnet;
      used.push(subnet);
    }
  }

  /** berth0, berth1…: the lowest no definition holds, no interface on the host has, and no other store claims. */
  private async freeInterface(defs: NetworkDef[], defFile: string, wanted?: string): Promise<string> {
    const taken = new Set(defs.map((d) => d.network_interface).filter(Boolean));
    const free = async (n: string) => !taken.has(n) && !existsSync(`/sys/class/net/${n}`) && (await claim('interface', n, defFile));
    if (wanted && (await free(wanted))) return wanted;
    for (let i = 1; ; i++) {
      const n = `berth${i}`;
      if (await free(n)) return n;
    }
  }

  /** Creates a user-defined bridge network; Docker's errors for a duplicate or a bad IPAM. */
  async create(input: CreateNetworkInput): Promise<NetworkDef> {
    if (!input.name || !NAME_RE.test(input.name)) throw new InvalidArgument(`invalid network name "${input.name}": must match ${NAME_RE.source}`);
    if ((PREDEFINED as readonly string[]).includes(input.name)) throw new Forbidden(`${input.name} is a pre-defined network and cannot be recreated`);
    // the default bridge takes its subnet first, as Docker's does at start-up
    await this.ensureBridge();
    return this.withLock(async () => {
      const defs = await this.stored();
      if (defs.some((d) => d.name === input.name)) throw new Conflict(`network with name ${input.name} already exists`);
      const subnets: NetavarkSubnet[] = [];
      const ipamConfig: DockerNetworkExtras['ipamConfig'] = [];
      for (const c of input.ipamConfig ?? []) {
        if (!c.Subnet) {
          if (c.Gateway || c.IPRange) throw new InvalidArgument('ipam config: a gateway or an IP range needs a subnet');
          continue;
        }
        if (c.Subnet.includes(':')) {
          if (!input.enableIPv6) throw new InvalidArgument(`IPv6 subnet ${c.Subnet} given but IPv6 is not enabled`);
          throw new InvalidArgument('berth does not support IPv6 subnets yet');
        }
        const net = parseCidr(c.Subnet);
        if (net.bits > 30) throw new InvalidArgument(`subnet ${c.Subnet} is too small`);
        const clash = defs.find((d) => usedSubnets([d]).some((u) => cidrOverlaps(u, net)));
        if (clash || !(await claim('subnet', cidrText(net), this.file(input.name)))) throw new Forbidden(`Pool overlaps with other one on this address space`);
        let gateway = formatIPv4(net.base + 1);
        if (c.Gateway) {
          const g = parseCidr(`${c.Gateway}/32`);
          if (!cidrOverlaps(g, net)) throw new InvalidArgument(`no matching subnet for gateway ${c.Gateway}`);
          gateway = c.Gateway;
        }
        const s: NetavarkSubnet = { subnet: cidrText(net), gateway };
        if (c.IPRange) {
          const r = parseCidr(c.IPRange);
          if (!(r.bits >= net.bits && cidrOverlaps(r, net))) throw new InvalidArgument(`no matching subnet for range ${c.IPRange}`);
          s.lease_range = { start_ip: formatIPv4(r.base), end_ip: formatIPv4(r.base + 2 ** (32 - r.bits) - 1) };
        }
        subnets.push(s);
        ipamConfig.push({ Subnet: c.Subnet, ...(c.IPRange ? { IPRange: c.IPRange } : {}), Gateway: gateway });
      }
      if (subnets.length === 0) {
        const subnet = await this.freeSubnet(defs, this.file(input.name));
        const gateway = formatIPv4(subnet.base + 1);
        subnets.push({ subnet: cidrText(subnet), gateway });
        ipamConfig.push({ Subnet: cidrText(subnet), Gateway: gateway });
      }
      const created = nowRfc3339();
      const iface = input.options?.['com.docker.network.bridge.name'] || (await this.freeInterface(defs, this.file(input.name)));
      const def: NetworkDef = {
        name: input.name,
        id: randomBytes(32).toString('hex'),
        driver: 'bridge',
        network_interface: iface,
        created,
        subnets,
        ipv6_enabled: false,
        internal: !!input.internal,
        dns_enabled: true,
        ipam_options: { driver: 'host-local' },
        docker: {
          created,
          attachable: !!input.attachable,
          labels: input.labels ?? {},
          options: input.options ?? {},
          ipamConfig,
          ipamOptions: input.ipamOptions ?? null,
          enableIPv6: !!input.enableIPv6,
        },
      };
      await fs.mkdir(this.ctx.paths.networks, { recursive: true });
      await writeJsonAtomic(this.file(def.name), def);
      return def;
    });
  }

  /** Deletes a stored definition (the caller checked it has no endpoints). */
  async remove(def: NetworkDef): Promise<void> {
    if ((PREDEFINED as readonly string[]).includes(def.name)) throw new Forbidden(`${def.name} is a pre-defined network and cannot be removed`);
    const file = this.file(def.name);
    await fs.rm(file, { force: true });
    if (def.network_interface) await unclaim('interface', def.network_interface, file);
    for (const sub of def.subnets ?? []) await unclaim('subnet', sub.subnet, file);
  }
}

export interface CreateNetworkInput {
  name: string;
  internal?: boolean;
  attachable?: boolean;
  enableIPv6?: boolean;
  ipamConfig?: Array<{ Subnet?: string; Gateway?: string; IPRange?: string }>;
  ipamOptions?: Record<string, string> | null;
  options?: Record<string, string>;
  labels?: Record<string, string>;
}

const ZERO_CREATED = '0001-01-01T00:00:00Z';

function usedSubnets(defs: NetworkDef[]): Cidr[] {
  const out: Cidr[] = [];
  for (const d of defs) for (const s of d.subnets ?? []) if (!s.subnet.includes(':')) out.push(parseCidr(s.subnet));
  return out;
}

