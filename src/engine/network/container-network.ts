// The network step of a container's life (owned by the networks work, issue 4): what create
// records, what init sets up before the OCI spec is written, what every end of a run tears down.
//
// Contract with lifecycle.ts:
// - planNetworks at create (no lock held): checks NetworkMode and NetworkingConfig (404 for a
//   network that doesn't exist, Docker's messages) and returns the record's NetworkSettings.
// - setupNetwork in init, under the container's lock, after the rootfs is mounted: makes the
//   network namespace, runs netavark, reserves published ports, and updates rec.NetworkSettings
//   (the caller writes the record). It must leave nothing behind when it throws.
// - teardownNetwork on every end (finish, failed init/start, remove): idempotent, and able to
//   undo a setup whose result was never recorded (a crash in between).
//
// Order of a setup, so that a crash anywhere leaves what teardown (from the intent file) undoes:
// host ports bound (fds only: gone with the process) → intent written → namespace → addresses
// leased → intent updated → netavark setup → record.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { EngineContext } from '../context.ts';
import { EngineError, InvalidArgument, SystemError } from '../errors.ts';
import type { ContainerConfig, ContainerRecord, HostConfig } from '../containers/types.ts';
import { ContainerStore } from '../containers/store.ts';
import { recordEvent } from '../events/journal.ts';
import { closeFd, PortInUse, reservePort } from '../../sys/ports.ts';
import { dnsAliases, idleEndpoint, isUserNetwork, liveEndpoint, plannedEndpoint, type Endpoint, type EndpointRequest } from './endpoint.ts';
import { hasIntent, intentDir, readIntent, removeIntent, writeIntent, type IntentNetwork, type NetworkIntent } from './intent.ts';
import { leaseAddress, releaseAddresses } from './ipam.ts';
import { netavarkSetup, netavarkTeardown, type NetavarkOptions, type NetavarkPort, type NetavarkStatus } from './netavark.ts';
import { createNetns, netnsPathFor, removeNetns } from './netns.ts';
import { netavarkForm, NetworkStore, type NetworkDef } from './network-store.ts';
import { portRequests, portsMap, type PortMapping } from './port-bindings.ts';

/** What the etc files need to know of the container's networks. */
export interface EtcNetworkFacts {
  /** The container's addresses on its networks (for its own /etc/hosts line). */
  addresses: string[];
  /** Extra /etc/hosts lines (legacy links): "ip name alias…". */
  hostsLines: string[];
  /** Nameservers that replace the host's (aardvark-dns on user-defined networks). */
  nameservers?: string[];
  /** Search domains to add. */
  search?: string[];
  /** Whether the container's networks have IPv6. */
  ipv6: boolean;
  /** What `host-gateway` in ExtraHosts stands for. */
  hostGateway?: string;
}

export interface NetworkSetup {
  /** The network namespace for the OCI spec; undefined: runc makes a new one (none), or host/container modes. */
  netnsPath?: string;
  /** Host ports held for the container: passed to conmon, which keeps them while it lives. */
  reservedFds: number[];
  etc: EtcNetworkFacts;
  /** Closes this process's copies of reservedFds (after conmon has them, or on failure). */
  release(): void;
}

type Mode = { kind: 'host' } | { kind: 'none' } | { kind: 'container'; ref: string } | { kind: 'network'; name: string };

/** HostConfig.NetworkMode as Docker reads it: default → bridge. */
export function networkMode(hc: HostConfig, config?: ContainerConfig): Mode {
  const m = hc.NetworkMode || 'default';
  if (config?.NetworkDisabled) return { kind: 'none' };
  if (m === 'host') return { kind: 'host' };
  if (m === 'none') return { kind: 'none' };
  if (m.startsWith('container:')) return { kind: 'container', ref: m.slice('container:'.length) };
  return { kind: 'network', name: m === 'default' ? 'bridge' : m };
}

/** NetworkSettings with nothing set up: Docker's shape, every field present. */
export function baseSettings(): Record<string, unknown> {
  return {
    Bridge: '',
    SandboxID: '',
    SandboxKey: '',
    Ports: {},
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: '',
    Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    MacAddress: '',
    Networks: {},
  };
}

export async function planNetworks(
  ctx: EngineContext,
  input: { config: ContainerConfig; hostConfig: HostConfig; networking: ContainerRecord['NetworkingConfig'] },
): Promise<Record<string, unknown>> {
  const mode = networkMode(input.hostConfig, input.config);
  portRequests(input.config, input.hostConfig); // 400 for a malformed binding, at create as Docker
  const settings = baseSettings();
  const networks: Record<string, Endpoint> = {};
  const requested = (input.networking?.EndpointsConfig ?? {}) as Record<string, EndpointRequest | null>;
  const store = new NetworkStore(ctx);
  if (mode.kind === 'host' || mode.kind === 'none') {
    const def = await store.find(mode.kind);
    networks[def.name] = plannedEndpoint(def, undefined);
  } else if (mode.kind === 'network') {
    const primary = await store.find(mode.name);
    const given = input.hostConfig.NetworkMode || 'default';
    const reqKey = Object.keys(requested).find((k) => k === given || k === mode.name || k === primary.name || k === primary.id);
    let primaryReq = reqKey ? requested[reqKey] ?? undefined : undefined;
    // Config.MacAddress: where API versions before 1.44 put --mac-address; it is the primary network's
    if (input.config.MacAddress && !primaryReq?.MacAddress) primaryReq = { ...primaryReq, MacAddress: input.config.MacAddress };
    networks[primary.name] = plannedEndpoint(primary, primaryReq);
    for (const [key, req] of Object.entries(requested)) {
      if (key === reqKey) continue;
      const def = await store.find(key);
      if (def.driver !== 'bridge') throw new InvalidArgument(`container cannot be connected to network ${def.name}: it is not a bridge network`);
      if (networks[def.name]) continue;
      networks[def.name] = plannedEndpoint(def, req ?? undefined);
    }
  }
  settings['Networks'] = networks;
  settings['Ports'] = portsMap(input.config, input.hostConfig, []);
  return settings;
}

// ---- host ports ---------------------------------------------------------------------------

interface Reserved {
  mappings: PortMapping[];
  fds: number[];
}

function reservePorts(rec: ContainerRecord): Reserved {
  const fds: number[] = [];
  const mappings: PortMapping[] = [];
  try {
    for (const r of portRequests(rec.Config, rec.HostConfig)) {
      const [lo, hi] = r.hostRange;
      let got: { fd: number; port: number } | undefined;
      let lastErr: unknown;
      for (let port = lo; port <= hi && !got; port++) {
        try {
          got = reservePort(r.hostIp, port, r.protocol);
        } catch (err) {
          lastErr = err;
          if (!(err instanceof PortInUse)) break;
        }
      }
      if (!got) {
        if (lastErr instanceof PortInUse) {
          const port = lo === hi ? String(lo) : `${lo}-${hi}`;
          // not a SystemError: lifecycle words those as runtime failures, and Docker says this as is
          throw new EngineError('system', `driver failed programming external connectivity on endpoint ${rec.Name} (${rec.Id}): Bind for ${r.hostIp || '0.0.0.0'}:${port} failed: port is already allocated`);
        }
        throw new SystemError(`could not reserve host port for ${r.containerPort}/${r.protocol}: ${(lastErr as Error)?.message ?? 'unknown'}`);
      }
      fds.push(got.fd);
      mappings.push({ containerPort: r.containerPort, protocol: r.protocol, hostIp: r.hostIp, hostPort: got.port });
    }
  } catch (err) {
    for (const fd of fds) closeFd(fd);
    throw err;
  }
  return { mappings, fds };
}

function netavarkPorts(mappings: readonly PortMapping[]): NetavarkPort[] {
  return mappings.map((m) => ({ host_ip: m.hostIp === '0.0.0.0' ? '' : m.hostIp, container_port: m.containerPort, host_port: m.hostPort, range: 1, protocol: m.protocol }));
}

// ---- setup -------------------------------------------------------------------------------

const noNetwork = (): NetworkSetup => ({ reservedFds: [], etc: { addresses: [], hostsLines: [], ipv6: false }, release() {} });

/** The container's endpoints, its NetworkMode network first (eth0). */
function endpointsInOrder(rec: ContainerRecord, primary: string): Array<[string, Endpoint]> {
  const nets = ((rec.NetworkSettings ?? {})['Networks'] ?? {}) as Record<string, Endpoint>;
  const entries = Object.entries(nets);
  return [...entries.filter(([n]) => n === primary), ...entries.filter(([n]) => n !== primary)];
}

export async function setupNetwork(ctx: EngineContext, rec: ContainerRecord): Promise<NetworkSetup> {
  const mode = networkMode(rec.HostConfig, rec.Config);
  if (mode.kind !== 'network') return noNetwork();
  const store = new NetworkStore(ctx);
  // a stale setup of an earlier run (a crash before its teardown) goes first
  await teardownNetwork(ctx, rec);
  const reserved = reservePorts(rec);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    for (const fd of reserved.fds) closeFd(fd);
  };
  const intent: NetworkIntent = { containerId: rec.Id, containerName: rec.Name, netns: netnsPathFor(ctx, rec.Id), ports: netavarkPorts(reserved.mappings), networks: {} };
  try {
    const primary = (await store.find(mode.name)).name;
    const endpoints = endpointsInOrder(rec, primary);
    if (endpoints.length === 0) endpoints.push([primary, plannedEndpoint(await store.find(primary), undefined)]);
    await writeIntent(ctx, intent);
    await createNetns(ctx, rec.Id);
    const defs: Record<string, NetworkDef> = {};
    let i = 0;
    for (const [name, ep] of endpoints) {
      const def = await store.find(ep.NetworkID || name).catch(() => store.find(name));
      defs[name] = def;
      const { ip } = await leaseAddress(ctx, def, rec.Id, (id) => hasIntent(ctx, id), ep.IPAMConfig?.IPv4Address || undefined);
      intent.networks[def.name] = {
        network: netavarkForm(def),
        attachment: { static_ips: [ip], ...(ep.DesiredMacAddress ? { static_mac: ep.DesiredMacAddress } : {}), aliases: dnsAliases(def, rec.Id, ep), interface_name: `eth${i++}` },
        withPorts: true,
      };
    }
    await writeIntent(ctx, intent);
    const status = await netavarkSetup(ctx, intent.netns, optionsFor(intent, Object.keys(intent.networks), true));
    const settings = { ...baseSettings(), ...(rec.NetworkSettings ?? {}) };
    const live: Record<string, Endpoint> = {};
    for (const [name, ep] of endpoints) {
      const def = defs[name]!;
      const iface = intent.networks[def.name]!.attachment.interface_name;
      live[def.name] = liveEndpoint(ep, def, rec.Name, rec.Id, status[intent.networks[def.name]!.network.name], iface);
    }
    settings['Networks'] = live;
    settings['SandboxID'] = randomBytes(32).toString('hex');
    settings['SandboxKey'] = intent.netns;
    settings['Ports'] = portsMap(rec.Config, rec.HostConfig, reserved.mappings);
    const bridge = live['bridge'];
    Object.assign(settings, {
      EndpointID: bridge?.EndpointID ?? '',
      Gateway: bridge?.Gateway ?? '',
      IPAddress: bridge?.IPAddress ?? '',
      IPPrefixLen: bridge?.IPPrefixLen ?? 0,
      MacAddress: bridge?.MacAddress ?? '',
    });
    rec.NetworkSettings = settings;
    // Docker's `network connect` of each network as the container starts
    for (const [name, n] of Object.entries(intent.networks)) await networkEvent(ctx, { id: n.network.id, name, driver: n.network.driver }, 'connect', rec.Id);
    return {
      netnsPath: intent.netns,
      reservedFds: reserved.fds,
      etc: await etcFacts(ctx, rec, live, defs, status),
      release,
    };
  } catch (err) {
    release();
    await undo(ctx, rec.Id).catch(() => {});
    throw err;
  }
}

function optionsFor(intent: NetworkIntent, names: string[], withPorts: boolean): NetavarkOptions {
  const networks: NetavarkOptions['networks'] = {};
  const info: NetavarkOptions['network_info'] = {};
  for (const n of names) {
    const net = intent.networks[n]!;
    networks[net.network.name] = net.attachment;
    info[net.network.name] = net.network;
  }
  return { container_id: intent.containerId, container_name: intent.containerName, port_mappings: withPorts ? intent.ports : [], networks, network_info: info };
}

async function etcFacts(ctx: EngineContext, rec: ContainerRecord, live: Record<string, Endpoint>, defs: Record<string, NetworkDef>, status: Record<string, NetavarkStatus>): Promise<EtcNetworkFacts> {
  const addresses = Object.values(live).map((e) => e.IPAddress).filter(Boolean);
  const nameservers: string[] = [];
  for (const def of Object.values(defs)) {
    if (!def.dns_enabled) continue;
    for (const ns of status[netavarkForm(def).name]?.dns_server_ips ?? []) if (!nameservers.includes(ns)) nameservers.push(ns);
  }
  return {
    addresses: addresses.slice(0, 1),
    hostsLines: live['bridge'] ? await linkLines(ctx, rec) : [],
    ...(nameservers.length ? { nameservers } : {}),
    ipv6: false,
    hostGateway: Object.values(live)[0]?.Gateway || undefined,
  };
}

/** Legacy --link entries on the default bridge: "ip alias name" for each linked container. */
async function linkLines(ctx: EngineContext, rec: ContainerRecord): Promise<string[]> {
  const out: string[] = [];
  const store = new ContainerStore(ctx);
  for (const link of rec.HostConfig.Links ?? []) {
    const [target = '', aliasPath = ''] = link.split(':');
    const other = await store.find(target.replace(/^\//, '')).catch(() => undefined);
    if (!other) throw new InvalidArgument(`could not get container for ${target.replace(/^\//, '')}`);
    const ep = (((other.NetworkSettings ?? {})['Networks'] ?? {}) as Record<string, Endpoint>)['bridge'];
    if (!ep?.IPAddress) throw new InvalidArgument(`Cannot link to a non running container: /${other.Name} AS /${rec.Name}/${aliasPath.split('/').pop() || other.Name}`);
    const alias = aliasPath.split('/').pop() || other.Name;
    const names = [...new Set([alias, other.Config.Hostname ?? other.Id.slice(0, 12), other.Name])];
    out.push(`${ep.IPAddress}\t${names.join(' ')}`);
  }
  return out;
}

// ---- teardown ----------------------------------------------------------------------------

function networkEvent(ctx: EngineContext, net: { id: string; name: string; driver: string }, action: string, containerId: string): Promise<void> {
  return recordEvent(ctx, { type: 'network', action, id: net.id, attributes: { container: containerId, name: net.name, type: net.driver } });
}

/** Undoes what an intent file says was (maybe) set up; idempotent. */
async function undo(ctx: EngineContext, containerId: string, events = false): Promise<void> {
  const intent = await readIntent(ctx, containerId);
  if (intent) {
    const names = Object.keys(intent.networks);
    const withPorts = names.filter((n) => intent.networks[n]!.withPorts);
    const without = names.filter((n) => !intent.networks[n]!.withPorts);
    // netavark fails on a half-made setup as well as undoing it: what it said is of no use here
    if (withPorts.length) await netavarkTeardown(ctx, intent.netns, optionsFor(intent, withPorts, true)).catch(() => {});
    if (without.length) await netavarkTeardown(ctx, intent.netns, optionsFor(intent, without, false)).catch(() => {});
    for (const n of names) await releaseAddresses(ctx, intent.networks[n]!.network.id, containerId);
    if (events) for (const n of names) await networkEvent(ctx, { id: intent.networks[n]!.network.id, name: n, driver: intent.networks[n]!.network.driver }, 'disconnect', containerId).catch(() => {});
  }
  await removeNetns(ctx, containerId);
  await removeIntent(ctx, containerId);
}

export async function teardownNetwork(ctx: EngineContext, rec: ContainerRecord): Promise<void> {
  if (networkMode(rec.HostConfig, rec.Config).kind !== 'network') return;
  await undo(ctx, rec.Id, true);
  const ns = rec.NetworkSettings;
  if (!ns) return;
  const nets = (ns['Networks'] ?? {}) as Record<string, Endpoint>;
  for (const [n, ep] of Object.entries(nets)) nets[n] = idleEndpoint(ep);
  Object.assign(ns, { SandboxID: '', SandboxKey: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '', Ports: portsMap(rec.Config, rec.HostConfig, []) });
}

/**
 * The network step of a removal, in two parts: the disconnect events now (Docker sends them
 * between `die` and `destroy`), and the returned teardown, which the remover runs once the record
 * is gone, so a `docker run --rm` waiting for the removal doesn't wait for netavark (the teardown
 * of a bridge's last container, the bridge and its rules with it, takes ~200 ms). With published
 * ports, all of it now. Until the teardown is done the intent file keeps the addresses leased; a
 * crash in between leaves an intent without a record, which undoOrphanIntents finishes.
 */
export async function detachForRemoval(ctx: EngineContext, rec: ContainerRecord): Promise<() => Promise<void>> {
  if (networkMode(rec.HostConfig, rec.Config).kind !== 'network') return async () => {};
  const intent = await readIntent(ctx, rec.Id);
  if (!intent) return async () => {};
  if (intent.ports.length > 0) {
    // published ports are released before the removal is seen, as Docker does: a new container
    // may want them at once, and netavark's forwarding rules would still point at this one
    await undo(ctx, rec.Id, true);
    return async () => {};
  }
  for (const [name, n] of Object.entries(intent.networks)) await networkEvent(ctx, { id: n.network.id, name, driver: n.network.driver }, 'disconnect', rec.Id).catch(() => {});
  return () => undo(ctx, rec.Id).catch(() => {});
}

/**
 * Undoes the intents whose container record is gone (a removal's teardown still running, or
 * killed); with `networkId`, only those on that network. Undoing twice is harmless.
 */
export async function undoOrphanIntents(ctx: EngineContext, networkId?: string): Promise<void> {
  const store = new ContainerStore(ctx);
  for (const file of await fs.readdir(intentDir(ctx)).catch(() => [] as string[])) {
    const id = /^([0-9a-f]{64})\.json$/.exec(file)?.[1];
    if (!id || (await store.read(id).catch(() => 'unreadable'))) continue;
    if (networkId !== undefined) {
      const intent = await readIntent(ctx, id);
      if (!intent || !Object.values(intent.networks).some((n) => n.network.id === networkId)) continue;
    }
    await undo(ctx, id).catch(() => {});
  }
}

// ---- live connect / disconnect (under the container's lock, on a running container) -------

export async function connectLive(ctx: EngineContext, rec: ContainerRecord, def: NetworkDef, ep: Endpoint): Promise<Endpoint> {
  const intent = await readIntent(ctx, rec.Id);
  if (!intent) throw new SystemError(`container ${rec.Id} has no network namespace of its own`);
  const used = new Set(Object.values(intent.networks).map((n) => n.attachment.interface_name));
  let i = 0;
  while (used.has(`eth${i}`)) i++;
  try {
    const { ip } = await leaseAddress(ctx, def, rec.Id, (id) => hasIntent(ctx, id), ep.IPAMConfig?.IPv4Address || undefined);
    intent.networks[def.name] = {
      network: netavarkForm(def),
      attachment: { static_ips: [ip], ...(ep.DesiredMacAddress ? { static_mac: ep.DesiredMacAddress } : {}), aliases: dnsAliases(def, rec.Id, ep), interface_name: `eth${i}` },
      withPorts: false,
    };
    await writeIntent(ctx, intent);
    const status = await netavarkSetup(ctx, intent.netns, optionsFor(intent, [def.name], false));
    return liveEndpoint(ep, def, rec.Name, rec.Id, status[netavarkForm(def).name], `eth${i}`);
  } catch (err) {
    await disconnectLive(ctx, rec, def.name).catch(() => {});
    throw err;
  }
}

export async function disconnectLive(ctx: EngineContext, rec: ContainerRecord, name: string): Promise<void> {
  const intent = await readIntent(ctx, rec.Id);
  const net = intent?.networks[name];
  if (!intent || !net) return;
  await netavarkTeardown(ctx, intent.netns, optionsFor(intent, [name], net.withPorts)).catch(() => {});
  await releaseAddresses(ctx, net.network.id, rec.Id);
  delete intent.networks[name];
  await writeIntent(ctx, intent);
}

export { isUserNetwork };
