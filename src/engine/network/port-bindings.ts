// Published ports: from a create body's PortBindings / PublishAllPorts + ExposedPorts to the
// host ports to reserve, and from the reserved ones to Docker's NetworkSettings.Ports and the
// /containers/json `Ports` list. Pure.
import { isIP } from 'node:net';
import { InvalidArgument } from '../errors.ts';
import type { ContainerConfig, HostConfig } from '../containers/types.ts';

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** One container port to publish, before its host port is known. */
export interface PortRequest {
  containerPort: number;
  protocol: Protocol;
  /** '' for every address. */
  hostIp: string;
  /** Host ports to try in order; [lo, hi] range; [0, 0] = any free one. */
  hostRange: [number, number];
}

/** One published port, as reserved. */
export interface PortMapping {
  containerPort: number;
  protocol: Protocol;
  hostIp: string;
  hostPort: number;
}

function parsePortKey(key: string): { port: number; protocol: Protocol } {
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
  const port = m ? Number(m[1]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new InvalidArgument(`invalid port specification: "${key}"`);
  return { port, protocol: (m[2] ?? 'tcp') as Protocol };
}

function parseHostPort(text: string | undefined, key: string): [number, number] {
  if (!text) return [0, 0];
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!m || !(lo >= 0 && lo <= 65535 && hi >= lo && hi <= 65535)) throw new InvalidArgument(`invalid port specification: "${text}" (for ${key})`);
  return [lo, hi];
}

/** The ports to publish; throws Docker's 400 for a malformed binding. */
export function portRequests(config: ContainerConfig, hc: HostConfig): PortRequest[] {
  const out: PortRequest[] = [];
  const bound = new Set<string>();
  for (const [key, bindings] of Object.entries(hc.PortBindings ?? {})) {
    const { port, protocol } = parsePortKey(key);
    bound.add(`${port}/${protocol}`);
    for (const b of bindings ?? []) {
      const hostIp = b.HostIp ?? '';
      if (hostIp !== '' && isIP(hostIp) === 0) throw new InvalidArgument(`invalid IP address: ${hostIp}`);
      out.push({ containerPort: port, protocol, hostIp, hostRange: parseHostPort(b.HostPort, key) });
    }
  }
  if (hc.PublishAllPorts) {
    for (const key of Object.keys(config.ExposedPorts ?? {})) {
      const { port, protocol } = parsePortKey(key);
      if (bound.has(`${port}/${protocol}`)) continue;
      out.push({ containerPort: port, protocol, hostIp: '', hostRange: [0, 0] });
    }
  }
  return out;
}

/** Every port the container exposes or publishes, as `80/tcp`. */
function portKeys(config: ContainerConfig, hc: HostConfig): string[] {
  const keys = new Set<string>();
  for (const k of [...Object.keys(config.ExposedPorts ?? {}), ...Object.keys(hc.PortBindings ?? {})]) {
    try {
      const { port, protocol } = parsePortKey(k);
      keys.add(`${port}/${protocol}`);
    } catch {
      // malformed keys were refused at create
    }
  }
  return [...keys];
}

/** NetworkSettings.Ports: every exposed port, null when not published. */
export function portsMap(config: ContainerConfig, hc: HostConfig, mappings: readonly PortMapping[]): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const k of portKeys(config, hc)) out[k] = null;
  for (const m of mappings) {
    const k = `${m.containerPort}/${m.protocol}`;
    (out[k] ??= []).push({ HostIp: m.hostIp || '0.0.0.0', HostPort: String(m.hostPort) });
  }
  return out;
}

/** The `Ports` list of /containers/json, from NetworkSettings.Ports. */
export function portList(ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | undefined): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, type] = key.split('/');
    if (!bindings?.length) out.push({ PrivatePort: Number(port), Type: type ?? 'tcp' });
    for (const b of bindings ?? []) out.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type ?? 'tcp' });
  }
  return out;
}
