// A network as Docker's /networks answers show it (golden 40, 41), with the containers that
// have an endpoint on it now. Pure.
import type { ContainerRecord } from '../containers/types.ts';
import type { Endpoint } from './endpoint.ts';
import type { NetworkDef } from './network-store.ts';

/** The running containers' endpoints on the network, by container id. */
export function networkContainers(def: NetworkDef, recs: readonly ContainerRecord[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const rec of recs) {
    if (rec.State.Status !== 'running' && rec.State.Status !== 'paused') continue;
    const ep = (((rec.NetworkSettings ?? {})['Networks'] ?? {}) as Record<string, Endpoint>)[def.name];
    if (!ep || (def.driver === 'bridge' && !ep.EndpointID)) continue;
    out[rec.Id] = {
      Name: rec.Name,
      EndpointID: ep.EndpointID,
      MacAddress: ep.MacAddress,
      IPv4Address: ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen}` : '',
      IPv6Address: '',
    };
  }
  return out;
}

/** Whether any container (running or not) names the network among its endpoints. */
export function networkInUse(def: NetworkDef, recs: readonly ContainerRecord[]): boolean {
  return recs.some((r) => Object.keys(((r.NetworkSettings ?? {})['Networks'] ?? {}) as object).includes(def.name) && (r.State.Status === 'running' || r.State.Status === 'paused' || r.State.Status === 'restarting'));
}

export function networkInspect(def: NetworkDef, containers?: Record<string, Record<string, string>>): Record<string, unknown> {
  const d = def.docker;
  return {
    Name: def.name,
    Id: def.id,
    Created: d.created,
    Scope: 'local',
    Driver: def.driver,
    EnableIPv6: d.enableIPv6,
    IPAM: { Driver: 'default', Options: d.ipamOptions, Config: d.ipamConfig },
    Internal: def.internal,
    Attachable: d.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers ?? {},
    Options: d.options,
    Labels: d.labels,
  };
}
