// A container's endpoint on one network, in Docker's NetworkSettings.Networks shape: what
// create records (the request: aliases, static address) and what setup fills in. Pure.
import { randomBytes } from 'node:crypto';
import { InvalidArgument } from '../errors.ts';
import type { NetavarkStatus } from './netavark.ts';
import type { NetworkDef } from './network-store.ts';

export interface EndpointRequest {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
  [key: string]: unknown;
}

export interface Endpoint {
  IPAMConfig: EndpointRequest['IPAMConfig'] | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
  /** The MAC address asked for (`--mac-address`): berth's record only, never in an API answer (see publicEndpoint). */
  DesiredMacAddress?: string;
}

/** A MAC address as Go's net.ParseMAC takes the 6-byte form (colons or hyphens). */
const MAC = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

export function isUserNetwork(def: NetworkDef): boolean {
  return def.driver === 'bridge' && def.name !== 'bridge';
}

/** The endpoint create records: the request checked against the network, nothing set up yet. */
export function plannedEndpoint(def: NetworkDef, req: EndpointRequest | undefined): Endpoint {
  const user = isUserNetwork(def);
  if (!user && req?.Aliases?.length) throw new InvalidArgument('network-scoped alias is supported only for containers in user defined networks');
  const ipam = req?.IPAMConfig && (req.IPAMConfig.IPv4Address || req.IPAMConfig.IPv6Address) ? req.IPAMConfig : null;
  if (!user && ipam) throw new InvalidArgument('user specified IP address is supported on user defined networks only');
  const mac = req?.MacAddress || undefined;
  if (mac !== undefined && !MAC.test(mac)) throw new InvalidArgument(`invalid MAC address ${mac}`);
  return {
    IPAMConfig: ipam ?? null,
    Links: req?.Links?.length ? req.Links : null,
    Aliases: req?.Aliases?.length ? [...req.Aliases] : null,
    MacAddress: req?.MacAddress ?? '',
    DriverOpts: req?.DriverOpts ?? null,
    NetworkID: def.id,
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
    ...(mac ? { DesiredMacAddress: mac.toLowerCase().replaceAll('-', ':') } : {}),
  };
}

/** The endpoint as the API shows it: berth's own fields left out. */
export function publicEndpoint(ep: Endpoint): Endpoint {
  const { DesiredMacAddress: _, ...rest } = ep;
  return rest;
}

/** The names aardvark answers for the container on a user network, besides its own name. */
export function dnsAliases(def: NetworkDef, containerId: string, ep: Endpoint): string[] {
  if (!isUserNetwork(def)) return [];
  const out = [...(ep.Aliases ?? []), containerId.slice(0, 12)];
  return [...new Set(out)];
}

/** The endpoint as set up, from netavark's answer for its interface. */
export function liveEndpoint(ep: Endpoint, def: NetworkDef, containerName: string, containerId: string, status: NetavarkStatus | undefined, iface: string): Endpoint {
  const ifc = status?.interfaces?.[iface];
  const sub = ifc?.subnets?.find((s) => !s.ipnet.includes(':'));
  const [ip, prefix] = (sub?.ipnet ?? '/0').split('/');
  const user = isUserNetwork(def);
  return {
    ...ep,
    EndpointID: randomBytes(32).toString('hex'),
    Gateway: sub?.gateway ?? '',
    IPAddress: ip ?? '',
    IPPrefixLen: Number(prefix ?? 0),
    MacAddress: ifc?.mac_address ?? '',
    DNSNames: user ? [containerName, ...dnsAliases(def, containerId, ep)] : null,
  };
}

/** The endpoint once its run is over: the request stays, the addresses go. */
export function idleEndpoint(ep: Endpoint): Endpoint {
  return { ...ep, EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: ep.DesiredMacAddress ?? '', IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null };
}
