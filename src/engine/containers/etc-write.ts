// Writes a container's /etc/hosts, /etc/resolv.conf and /etc/hostname (bind-mounted by the
// spec) from its record, the host's files and what its network step found.
import { promises as fs } from 'node:fs';
import { hostname as hostHostname } from 'node:os';
import type { EngineContext } from '../context.ts';
import type { EtcNetworkFacts } from '../network/container-network.ts';
import { writeFileAtomic } from '../../store/atomic.ts';
import { hostnameFile, hostsFile, resolvConf } from './etc-files.ts';
import { ContainerStore } from './store.ts';
import type { ContainerRecord } from './types.ts';

export async function writeEtcFiles(ctx: EngineContext, rec: ContainerRecord, net: EtcNetworkFacts): Promise<void> {
  const p = new ContainerStore(ctx).paths(rec.Id);
  const hostMode = rec.HostConfig.NetworkMode === 'host';
  const hostResolv = await fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const hostHosts = hostMode ? await fs.readFile('/etc/hosts', 'utf8').catch(() => '') : undefined;
  const hostname = hostMode ? hostHostname() : rec.Config.Hostname ?? rec.Id.slice(0, 12);
  await Promise.all([
    writeFileAtomic(
      p.hosts,
      hostsFile({ hostname, domainname: rec.Config.Domainname, extraHosts: rec.HostConfig.ExtraHosts, hostHosts, hostGateway: net.hostGateway, ips: net.addresses, linkLines: net.hostsLines, ipv6: net.ipv6 || undefined }),
      { durable: false },
    ),
    writeFileAtomic(
      p.resolvConf,
      resolvConf({ host: hostResolv, dns: rec.HostConfig.Dns, dnsSearch: rec.HostConfig.DnsSearch, dnsOptions: rec.HostConfig.DnsOptions, networkMode: rec.HostConfig.NetworkMode, internalNameservers: net.nameservers }),
      { durable: false },
    ),
    writeFileAtomic(p.hostname, hostnameFile(hostname), { durable: false }),
  ]);
}
