// Run after every other test file (the runner orders files by path, one at a time): whatever
// the suites did to this machine's kernel state, berth must have undone — no mounts under berth
// paths, no network namespaces, bridges, per-network firewall rules, port forwards, conmon or
// aardvark-dns processes left from the tests' berth instances.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const testPaths = /\/tmp\/berth-/;
const run = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
};

function processesMatching(what: RegExp): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // gone meanwhile
    }
    if (what.test(cmd)) out.push(`${pid}: ${cmd}`);
  }
  return out;
}

describe('after all the tests', () => {
  it('leaves no mount under a berth test path', () => {
    const left = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => testPaths.test(l));
    assert.deepEqual(left, []);
  });

  it('leaves no conmon, container or aardvark-dns process of a test berth', () => {
    assert.deepEqual(processesMatching(/^(\S*\/)?(conmon|aardvark-dns) .*\/tmp\/berth-/), []);
  });

  it('leaves no berth bridge and no veth on the host', () => {
    const links = run('ip', ['-o', 'link', 'show']).split('\n').filter(Boolean);
    assert.deepEqual(links.filter((l) => /^\d+: berth\d+[:@]/.test(l) || /master berth\d+ /.test(l)), []);
  });

  it('leaves no per-network firewall chain or port forward', () => {
    const rules = run('iptables-save', []).split('\n');
    const left = rules.filter(
      (l) => /^[-:]\S* ?NETAVARK-(?!HOSTPORT-)[0-9A-F]/.test(l) || /-j NETAVARK-[0-9A-F]/.test(l) || /NETAVARK-DN-/.test(l) || /^-A NETAVARK-HOSTPORT-DNAT /.test(l) || /^-A NETAVARK_FORWARD /.test(l),
    );
    assert.deepEqual(left, []);
  });
});
