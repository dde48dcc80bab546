// Per-registry TLS material, where Docker and Podman keep it: `<dir>/<host[:port]>/` holding
// CA certificates (`*.crt`) and client certificate pairs (`name.cert` with `name.key`).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgument } from '../engine/errors.ts';

export const CERTS_DIRS = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

export interface RegistryTls {
  ca: string[];
  cert?: string;
  key?: string;
}

/** The TLS material for `host` from every certs.d dir (CAs add up; the first client pair wins). */
export async function registryTls(host: string, dirs: string[] = CERTS_DIRS): Promise<RegistryTls> {
  if (host.includes('/') || host === '..' || host === '.') throw new InvalidArgument(`invalid registry host ${JSON.stringify(host)}`);
  const tls: RegistryTls = { ca: [] };
  for (const dir of dirs) {
    const hostDir = join(dir, host);
    let names: string[];
    try {
      names = (await fs.readdir(hostDir)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.endsWith('.crt')) tls.ca.push(await fs.readFile(join(hostDir, name), 'utf8'));
    }
    if (tls.cert) continue;
    for (const name of names.filter((n) => n.endsWith('.cert'))) {
      const keyName = name.slice(0, -'.cert'.length) + '.key';
      if (!names.includes(keyName)) throw new InvalidArgument(`missing key ${keyName} for client certificate ${join(hostDir, name)}`);
      tls.cert = await fs.readFile(join(hostDir, name), 'utf8');
      tls.key = await fs.readFile(join(hostDir, keyName), 'utf8');
      break;
    }
    for (const name of names.filter((n) => n.endsWith('.key'))) {
      const certName = name.slice(0, -'.key'.length) + '.cert';
      if (!names.includes(certName)) throw new InvalidArgument(`missing client certificate ${certName} for key ${join(hostDir, name)}`);
    }
  }
  return tls;
}
