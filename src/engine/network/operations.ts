// The /networks endpoints' engine side: create, list, inspect, remove, prune, connect and
// disconnect, with Docker's errors and network events.
import type { EngineContext } from '../context.ts';
import { Conflict, Forbidden, InvalidArgument, NotFound, NotImplemented } from '../errors.ts';
import { checkFilterKeys, filterBool, filterTime, matchLabels, type Filters } from '../filters.ts';
import { recordEvent } from '../events/journal.ts';
import { ContainerStore } from '../containers/store.ts';
import { isRunning, type ContainerRecord } from '../containers/types.ts';
import { connectLive, disconnectLive, isUserNetwork, undoOrphanIntents } from './container-network.ts';
import { plannedEndpoint, type Endpoint, type EndpointRequest } from './endpoint.ts';
import { forgetNetworkLeases } from './ipam.ts';
import { networkContainers, networkInspect, networkInUse } from './describe.ts';
import { NetworkStore, PREDEFINED, type CreateNetworkInput, type NetworkDef } from './network-store.ts';

function networkEvent(ctx: EngineContext, def: NetworkDef, action: string, extra: Record<string, string> = {}): Promise<void> {
  return recordEvent(ctx, { type: 'network', action, id: def.id, attributes: { name: def.name, type: def.driver, ...extra } });
}

export interface CreateNetworkBody {
  Name?: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
  EnableIPv6?: boolean | null;
  EnableIPv4?: boolean | null;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }> | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export async function createNetwork(ctx: EngineContext, body: CreateNetworkBody): Promise<{ Id: string; Warning: string }> {
  const name = body.Name ?? '';
  if (!name) throw new InvalidArgument('network name cannot be empty');
  const driver = body.Driver || 'bridge';
  if (driver === 'host' || driver === 'null') throw new Forbidden(`only one instance of "${driver}" network is allowed`);
  if (driver === 'overlay' || body.Ingress || body.Scope === 'swarm') throw new NotImplemented(`This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.`);
  if (driver !== 'bridge') throw new NotFound(`plugin "${driver}" not found`);
  if (body.IPAM?.Driver && body.IPAM.Driver !== 'default') throw new NotFound(`plugin "${body.IPAM.Driver}" not found`);
  if (body.ConfigOnly || body.ConfigFrom?.Network) throw new InvalidArgument('config-only networks are not supported');
  const input: CreateNetworkInput = {
    name,
    internal: body.Internal,
    attachable: body.Attachable,
    enableIPv6: body.EnableIPv6 ?? false,
    ipamConfig: body.IPAM?.Config ?? [],
    ipamOptions: body.IPAM?.Options ?? null,
    options: body.Options ?? {},
    labels: body.Labels ?? {},
  };
  const def = await new NetworkStore(ctx).create(input);
  await networkEvent(ctx, def, 'create');
  return { Id: def.id, Warning: '' };
}

const LIST_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];

export async function listNetworks(ctx: EngineContext, filters: Filters = {}): Promise<Array<Record<string, unknown>>> {
  checkFilterKeys(filters, LIST_FILTERS);
  for (const t of filters['type'] ?? []) if (t !== 'custom' && t !== 'builtin') throw new InvalidArgument(`invalid filter: 'type'='${t}'`);
  const dangling = filterBool('dangling', filters['dangling']);
  const [defs, recs] = await Promise.all([new NetworkStore(ctx).list(), new ContainerStore(ctx).list()]);
  const out: Array<Record<string, unknown>> = [];
  for (const def of defs) {
    if (filters['driver']?.length && !filters['driver'].includes(def.driver)) continue;
    if (filters['id']?.length && !filters['id'].some((i) => def.id.startsWith(i))) continue;
    if (filters['name']?.length && !filters['name'].some((n) => def.name.includes(n))) continue;
    if (filters['scope']?.length && !filters['scope'].includes('local')) continue;
    if (!matchLabels(def.docker.labels, filters['label'])) continue;
    const builtin = (PREDEFINED as readonly string[]).includes(def.name);
    if (filters['type']?.length && !filters['type'].includes(builtin ? 'builtin' : 'custom')) continue;
    const containers = networkContainers(def, recs);
    if (dangling !== undefined && dangling !== (!builtin && Object.keys(containers).length === 0)) continue;
    out.push(networkInspect(def, containers));
  }
  return out;
}

export async function inspectNetwork(ctx: EngineContext, ref: string): Promise<Record<string, unknown>> {
  const def = await new NetworkStore(ctx).find(ref);
  return networkInspect(def, networkContainers(def, await new ContainerStore(ctx).list()));
}

async function removeDef(ctx: EngineContext, store: NetworkStore, def: NetworkDef, recs: ContainerRecord[]): Promise<void> {
  if ((PREDEFINED as readonly string[]).includes(def.name)) throw new Forbidden(`${def.name} is a pre-defined network and cannot be removed`);
  if (networkInUse(def, recs)) throw new Conflict(`error while removing network: network ${def.name} id ${def.id} has active endpoints`);
  // a removed container's teardown may still be on its way: finished here, before the network goes
  await undoOrphanIntents(ctx, def.id);
  await store.remove(def);
  await forgetNetworkLeases(ctx, def.id);
  await networkEvent(ctx, def, 'destroy');
}

export async function removeNetwork(ctx: EngineContext, ref: string): Promise<void> {
  const store = new NetworkStore(ctx);
  const def = await store.find(ref);
  await store.withLock(async () => removeDef(ctx, store, def, await new ContainerStore(ctx).list()));
}

export async function pruneNetworks(ctx: EngineContext, filters: Filters = {}): Promise<{ NetworksDeleted: string[] }> {
  checkFilterKeys(filters, ['until', 'label', 'label!']);
  const until = filters['until']?.length ? filterTime(filters['until'][0]!) : undefined;
  const store = new NetworkStore(ctx);
  const deleted: string[] = [];
  await store.withLock(async () => {
    const recs = await new ContainerStore(ctx).list();
    for (const def of await store.list()) {
      if ((PREDEFINED as readonly string[]).includes(def.name)) continue;
      if (until !== undefined && !(Date.parse(def.docker.created) < until)) continue;
      if (!matchLabels(def.docker.labels, filters['label'])) continue;
      if (filters['label!']?.length && filters['label!'].some((l) => matchLabels(def.docker.labels, [l]))) continue;
      // prune leaves any network a container refers to, running or not
      if (recs.some((r) => Object.keys(((r.NetworkSettings ?? {})['Networks'] ?? {}) as object).includes(def.name))) continue;
      await removeDef(ctx, store, def, recs);
      deleted.push(def.name);
    }
  });
  return { NetworksDeleted: deleted };
}

export interface ConnectBody {
  Container?: string;
  EndpointConfig?: EndpointRequest | null;
}

function endpointsOf(rec: ContainerRecord): Record<string, Endpoint> {
  rec.NetworkSettings ??= {};
  return ((rec.NetworkSettings['Networks'] ??= {}) as Record<string, Endpoint>);
}

export async function connectNetwork(ctx: EngineContext, ref: string, body: ConnectBody): Promise<void> {
  const def = await new NetworkStore(ctx).find(ref);
  const containers = new ContainerStore(ctx);
  const target = await containers.find(body.Container ?? '');
  if (def.driver !== 'bridge') throw new Forbidden(`container cannot be disconnected from host network or connected to host network`);
  const mode = target.HostConfig.NetworkMode || 'default';
  if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) throw new Forbidden(`container sharing network namespace with another container or host cannot be connected to any other network`);
  await containers.withLock(target.Id, async () => {
    const rec = (await containers.read(target.Id))!;
    const eps = endpointsOf(rec);
    if (eps[def.name]) throw new Forbidden(`endpoint with name ${rec.Name} already exists in network ${def.name}`);
    let ep = plannedEndpoint(def, body.EndpointConfig ?? undefined);
    if (isRunning(rec)) ep = await connectLive(ctx, rec, def, ep);
    eps[def.name] = ep;
    await containers.write(rec);
  });
  await networkEvent(ctx, def, 'connect', { container: target.Id });
}

export async function disconnectNetwork(ctx: EngineContext, ref: string, body: { Container?: string; Force?: boolean }): Promise<void> {
  const store = new NetworkStore(ctx);
  const containers = new ContainerStore(ctx);
  const target = await containers.find(body.Container ?? '');
  const def = await store.find(ref).catch((err: unknown) => {
    if (!body.Force) throw err;
    return undefined;
  });
  const name = def?.name ?? ref;
  if (def && !isUserNetwork(def) && def.name !== 'bridge') throw new Forbidden(`container cannot be disconnected from host network or connected to host network`);
  await containers.withLock(target.Id, async () => {
    const rec = (await containers.read(target.Id))!;
    const eps = endpointsOf(rec);
    if (!eps[name]) {
      if (body.Force) return;
      throw new Forbidden(`container ${rec.Id} is not connected to network ${name}`);
    }
    if (isRunning(rec)) await disconnectLive(ctx, rec, name);
    delete eps[name];
    await containers.write(rec);
  });
  if (def) await networkEvent(ctx, def, 'disconnect', { container: target.Id });
}
