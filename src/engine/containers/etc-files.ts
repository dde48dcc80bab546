// The /etc/hosts, /etc/resolv.conf and /etc/hostname a container gets, as text. Pure: the caller
// reads the host's files, writes ours (atomically) under the container's dir and bind-mounts them.
import { isIP } from 'node:net';
import { InvalidArgument } from '../errors.ts';

export interface ExtraHost {
  name: string;
  /** An address, or `host-gateway` (the caller's gateway address stands for it). */
  ip: string;
}

export const HOST_GATEWAY = 'host-gateway';

/** Where the generated files are mounted in the container, each with its host file. */
export function etcFileMounts(files: { hosts: string; resolvConf: string; hostname: string }): Array<[destination: string, source: string]> {
  return [
    ['/etc/resolv.conf', files.resolvConf],
    ['/etc/hostname', files.hostname],
    ['/etc/hosts', files.hosts],
  ];
}

/**
 * One HostConfig.ExtraHosts entry: `name:ip` (the API's form; IPv6 addresses allowed as the
 * part after the first colon, in brackets or not) or `name=ip` (the CLI's newer form).
 */
export function parseExtraHost(entry: string): ExtraHost {
  const eq = entry.indexOf('=');
  const colon = entry.indexOf(':');
  const at = eq >= 0 && (colon < 0 || eq < colon) ? eq : colon;
  const name = at >= 0 ? entry.slice(0, at) : '';
  if (at < 0 || name === '') throw new InvalidArgument(`bad format for add-host: ${JSON.stringify(entry)}`);
  let ip = entry.slice(at + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== HOST_GATEWAY && isIP(ip) === 0) throw new InvalidArgument(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
  return { name, ip };
}

export interface HostsInput {
  hostname: string;
  domainname?: string;
  extraHosts?: readonly string[] | null;
  /** The container's own addresses (one line each with its hostname). */
  ips?: readonly string[];
  /** false: leave out the IPv6 defaults and IPv6 extra hosts (a network without IPv6). */
  ipv6?: boolean;
  /** What `host-gateway` resolves to. */
  hostGateway?: string;
  /** Host network: the host's /etc/hosts text, used as is when there are no extra hosts. */
  hostHosts?: string;
  /** Lines for linked containers (legacy --link on the default bridge), "ip\tnames". */
  linkLines?: readonly string[];
}

const DEFAULT_V4 = ['127.0.0.1\tlocalhost'];
const DEFAULT_V6 = ['::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::\tip6-localnet', 'ff00::\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];

/** /etc/hosts as Docker writes it: localhost lines, the extra hosts, then the container's own names. */
export function hostsFile(input: HostsInput): string {
  const extras = (input.extraHosts ?? []).map(parseExtraHost);
  // Docker copies the host's file for --network host, unless extra hosts must be able to override it
  if (input.hostHosts !== undefined && extras.length === 0) return input.hostHosts;
  const ipv6 = input.ipv6 ?? true;
  const lines = [...DEFAULT_V4, ...(ipv6 ? DEFAULT_V6 : [])];
  for (const { name, ip } of extras) {
    let addr = ip;
    if (ip === HOST_GATEWAY) {
      if (!input.hostGateway) throw new InvalidArgument('unable to derive the IP value for host-gateway');
      addr = input.hostGateway;
    }
    if (!ipv6 && isIP(addr) === 6) continue;
    lines.push(`${addr}\t${name}`);
  }
  lines.push(...(input.linkLines ?? []));
  const names = input.domainname ? `${input.hostname}.${input.domainname} ${input.hostname}` : input.hostname;
  for (const ip of input.ips ?? []) {
    if (!ipv6 && isIP(ip) === 6) continue;
    lines.push(`${ip}\t${names}`);
  }
  return lines.join('\n') + '\n';
}

export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}

export interface ResolvConfInput {
  /** The host's resolv.conf text ('' when it has none). */
  host: string;
  /** Where it came from, for the footer. */
  hostPath?: string;
  dns?: readonly string[] | null;
  dnsSearch?: readonly string[] | null;
  dnsOptions?: readonly string[] | null;
  /** HostConfig.NetworkMode: `host` keeps the host's nameservers, loopback ones included. */
  networkMode?: string;
  /** The container's network has IPv6: keep IPv6 nameservers (and use IPv6 defaults). */
  ipv6?: boolean;
  /**
   * The networks' own DNS server (aardvark-dns on user-defined networks): it replaces the host's
   * nameservers, and forwards what it doesn't know to them itself.
   */
  internalNameservers?: readonly string[];
}

const DEFAULT_NS_V4 = ['8.8.8.8', '8.8.4.4'];
const DEFAULT_NS_V6 = ['2001:4860:4860::8888', '2001:4860:4860::8844'];

function isLoopback(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1' || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(addr);
}

/**
 * /etc/resolv.conf as Docker makes it for a network without an internal resolver: the host's
 * file, with the create body's Dns/DnsSearch/DnsOptions replacing its lines; outside the host's
 * network, loopback nameservers (and IPv6 ones without IPv6) are dropped, and Google's public
 * servers stand in when nothing is left.
 */
export function resolvConf(input: ResolvConfInput): string {
  let nameservers: string[] = [];
  let search: string[] | undefined;
  let options: string[] | undefined;
  const other: string[] = [];
  for (const raw of input.host.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver') {
      if (rest[0]) nameservers.push(rest[0].replace(/%.*$/, ''));
    } else if (key === 'search' || key === 'domain') {
      // the last of search/domain wins, as in the resolver
      search = rest;
    } else if (key === 'options') {
      options = [...(options ?? []), ...rest];
    } else {
      other.push(line);
    }
  }

  const overrides: string[] = [];
  const notes: string[] = [];
  const ipv6 = input.ipv6 ?? false;
  if (input.dns?.length) {
    nameservers = [...input.dns];
    overrides.push('nameservers');
  } else if (input.internalNameservers?.length) {
    notes.push(`# ExtServers: [${nameservers.join(' ')}]`);
    nameservers = [...input.internalNameservers];
  } else if (input.networkMode !== 'host') {
    nameservers = nameservers.filter((ns) => !isLoopback(ns) && (ipv6 || isIP(ns) !== 6));
    if (nameservers.length === 0) {
      nameservers = [...DEFAULT_NS_V4, ...(ipv6 ? DEFAULT_NS_V6 : [])];
      notes.push('# Used default nameservers.');
    }
  }
  if (input.dnsSearch?.length) {
    // `--dns-search .` asks for no search domains
    search = input.dnsSearch.filter((s) => s !== '.');
    overrides.push('search');
  }
  if (input.dnsOptions?.length) {
    options = [...input.dnsOptions];
    overrides.push('options');
  }

  const lines = nameservers.map((ns) => `nameserver ${ns}`);
  if (search?.length) lines.push(`search ${search.join(' ')}`);
  if (options?.length) lines.push(`options ${options.join(' ')}`);
  lines.push(...other);
  lines.push('', `# Based on host file: '${input.hostPath ?? '/etc/resolv.conf'}'${input.networkMode === 'host' ? '' : ' (legacy)'}`, ...notes, `# Overrides: [${overrides.join(' ')}]`);
  return lines.join('\n') + '\n';
}
