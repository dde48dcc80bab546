// Networks and published ports through the real docker CLI and docker-py: network create/ls/
// inspect/rm/prune, name and alias resolution on a user network, ports reachable from the host,
// Docker's port conflict, live connect/disconnect, host and none modes. After each test nothing of
// the network step is left: no namespace under the runroot, no iptables rule for the test's
// subnets, no bridge interface of its networks.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, afterEach, before, describe, it } from 'node:test';
import { networkTeardownsDone, startBerth, waitFor, type Berth } from '../helpers/berth.ts';
import { dockerFor, dockerPyFor, dockerResultFor, removeAllContainers, startRegistries } from '../helpers/fixtures.ts';

const exec = promisify(execFile);
const PORT = 5371;
const R = `127.0.0.1:${PORT}/library`;
const BUSYBOX = `${R}/busybox:latest`;
const WEB = `${R}/web:latest`;
// host ports of this suite (its registry's port + 13000 and on)
const HOST_PORT = 18371;

let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let run: ReturnType<typeof dockerResultFor>;
let py: ReturnType<typeof dockerPyFor>;
let registries: { stop(): void };
/** What this suite's networks took: their subnets and bridge interfaces, to check nothing is left. */
const seenSubnets = new Set<string>();
const seenInterfaces = new Set<string>();

/** Remembers the subnet and interface of every network stored now. */
function noteNetworks(): void {
  const dir = join(b.root, 'networks');
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    if (!f.endsWith('.json') || f.startsWith('.')) continue;
    const def = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { network_interface?: string; subnets?: Array<{ subnet: string }> };
    if (def.network_interface) seenInterfaces.add(def.network_interface);
    for (const s of def.subnets ?? []) seenSubnets.add(s.subnet);
  }
}

async function get(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

before(async () => {
  registries = startRegistries([['start', PORT]]);
  // a pool of this suite's own: its subnets are its alone, whatever other suites run meanwhile
  b = await startBerth({ env: { BERTH_NETWORK_POOL: 'base=10.137.0.0/16,size=24' } });
  docker = dockerFor(b);
  run = dockerResultFor(b);
  py = dockerPyFor(b);
  await docker('pull', '-q', BUSYBOX);
  await docker('pull', '-q', WEB);
});

afterEach(async () => {
  noteNetworks();
  await removeAllContainers(docker);
  const custom = (await docker('network', 'ls', '--filter', 'type=custom', '-q')).stdout.split('\n').filter(Boolean);
  if (custom.length) await docker('network', 'rm', ...custom);
  await networkTeardownsDone(b);
  const netns = join(b.runroot, 'netns');
  assert.deepEqual(existsSync(netns) ? readdirSync(netns) : [], [], 'no network namespace left');
  const rules = (await exec('iptables-save')).stdout;
  for (const s of seenSubnets) assert.ok(!rules.includes(s), `no iptables rule for ${s} left`);
  for (const i of seenInterfaces) {
    if (!existsSync(`/sys/class/net/${i}`)) continue;
    // the name may be another store's by now (a suite running meanwhile): then its claim says so
    const claim = `/run/berth-claims/interface-${i}`;
    const owner = existsSync(claim) ? (JSON.parse(readFileSync(claim, 'utf8')) as { def: string }).def : '';
    assert.ok(owner && !owner.startsWith(b.root + '/'), `bridge ${i} is gone`);
  }
});

after(async () => {
  if (docker) await removeAllContainers(docker).catch(() => {});
  await b?.stop();
  registries?.stop();
});

describe('docker network', () => {
  it('creates, lists, inspects, refuses duplicates, removes and prunes', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const id = (await docker('network', 'create', '--label', 'x=y', 'net-a')).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const dup = await run('network', 'create', 'net-a');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /network with name net-a already exists/);
    const ls = (await docker('network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}')).stdout;
    for (const line of ['bridge bridge local', 'host host local', 'none null local', 'net-a bridge local']) assert.match(ls, new RegExp(`^${line}$`, 'm'));
    assert.equal((await docker('network', 'ls', '--filter', 'label=x=y', '--format', '{{.Name}}')).stdout, 'net-a\n');
    assert.equal((await docker('network', 'ls', '--filter', 'type=builtin', '--format', '{{.Name}}')).stdout.split('\n').filter(Boolean).sort().join(' '), 'bridge host none');
    const [net] = JSON.parse((await docker('network', 'inspect', id.slice(0, 12))).stdout) as Array<Record<string, any>>;
    assert.equal(net!['Name'], 'net-a');
    assert.equal(net!['Driver'], 'bridge');
    assert.equal(net!['Scope'], 'local');
    assert.deepEqual(net!['Labels'], { x: 'y' });
    assert.match(net!['IPAM'].Config[0].Subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
    const bridgeSubnet = JSON.parse((await docker('network', 'inspect', 'bridge')).stdout)[0].IPAM.Config[0].Subnet;
    assert.notEqual(net!['IPAM'].Config[0].Subnet, bridgeSubnet, 'a user network never takes the bridge subnet');

    await docker('network', 'create', '--subnet', '10.231.0.0/24', '--gateway', '10.231.0.254', 'net-b');
    const b2 = JSON.parse((await docker('network', 'inspect', 'net-b')).stdout)[0];
    assert.deepEqual(b2.IPAM.Config, [{ Subnet: '10.231.0.0/24', Gateway: '10.231.0.254' }]);
    const overlap = await run('network', 'create', '--subnet', '10.231.0.128/25', 'net-c');
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);

    const missing = await run('network', 'inspect', 'no-such-net');
    assert.match(missing.stderr, /network no-such-net not found/);
    const pre = await run('network', 'rm', 'bridge');
    assert.match(pre.stderr, /bridge is a pre-defined network and cannot be removed/);

    await docker('network', 'rm', 'net-a');
    const events = (await docker('events', '--since', since, '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=network', '--format', '{{.Action}} {{.Actor.Attributes.name}}')).stdout;
    assert.deepEqual(events.trim().split('\n').filter((l) => l.endsWith(' net-a')), ['create net-a', 'destroy net-a']);
    const pruned = (await docker('network', 'prune', '-f')).stdout;
    assert.match(pruned, /net-b/);
    assert.equal((await docker('network', 'ls', '--filter', 'type=custom', '-q')).stdout, '');
  });

  it('lets containers on a user network reach each other by name and by alias', async () => {
    await docker('network', 'create', 'app');
    await docker('run', '-d', '--name', 'web', '--network', 'app', '--network-alias', 'frontend', WEB);
    const r = await run('run', '--rm', '--network', 'app', BUSYBOX, 'sh', '-c', 'wget -qO- http://web/ && wget -qO- http://frontend/ && cat /etc/resolv.conf');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^berth fixture web: OK\nberth fixture web: OK\n/);
    const gateway = JSON.parse((await docker('network', 'inspect', 'app')).stdout)[0].IPAM.Config[0].Gateway;
    assert.match(r.stdout, new RegExp(`^nameserver ${gateway.replace(/\./g, '\\.')}$`, 'm'), "aardvark-dns on the network's gateway");
    const eps = JSON.parse((await docker('network', 'inspect', 'app')).stdout)[0].Containers as Record<string, { Name: string; IPv4Address: string }>;
    assert.deepEqual(Object.values(eps).map((e) => e.Name), ['web']);
    assert.match(Object.values(eps)[0]!.IPv4Address, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
    const busy = await run('network', 'rm', 'app');
    assert.match(busy.stderr, /error while removing network: network app id [0-9a-f]{64} has active endpoints/);
  });

  it('honours --mac-address, keeps it across runs, and refuses a malformed one', async () => {
    await docker('network', 'create', 'macs');
    const mac = '02:42:0a:00:00:99';
    await docker('create', '--name', 'fixed', '--network', 'macs', '--mac-address', mac, BUSYBOX, 'cat', '/sys/class/net/eth0/address');
    const configured = JSON.parse((await docker('inspect', '-f', '{{json .NetworkSettings.Networks.macs}}', 'fixed')).stdout);
    assert.equal(configured.MacAddress, mac);
    assert.equal(configured.DesiredMacAddress, undefined, 'berth keeps its own fields out of the answer');
    for (let i = 0; i < 2; i++) {
      await docker('start', '-a', 'fixed').then((r) => assert.equal(r.stdout.trim(), mac));
    }
    assert.equal((await docker('inspect', '-f', '{{.NetworkSettings.Networks.macs.MacAddress}}', 'fixed')).stdout.trim(), mac);
    await docker('rm', 'fixed');
    // docker-py puts it in Config.MacAddress, as API versions before 1.44 did
    const out = await py(`
c = client.containers.run('${BUSYBOX}', ['cat', '/sys/class/net/eth0/address'], mac_address='02:42:0a:00:00:98', network='macs', remove=True)
print(c.decode().strip())
try:
    client.containers.create('${BUSYBOX}', 'true', mac_address='not-a-mac', network='macs')
except docker.errors.APIError as e:
    print(e.status_code, e.explanation)
`);
    assert.equal(out.stdout.trim(), '02:42:0a:00:00:98\n400 invalid MAC address not-a-mac');
  });

  it('gives the default bridge no name resolution, and inspect shows the bridge endpoint', async () => {
    await docker('run', '-d', '--name', 'web', WEB);
    const ns = JSON.parse((await docker('inspect', '-f', '{{json .NetworkSettings}}', 'web')).stdout);
    assert.match(ns.IPAddress, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(ns.Networks.bridge.IPAddress, ns.IPAddress);
    assert.equal(ns.Networks.bridge.Gateway, ns.Gateway);
    assert.match(ns.Networks.bridge.EndpointID, /^[0-9a-f]{64}$/);
    assert.match(ns.Networks.bridge.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.ok(existsSync(ns.SandboxKey), 'SandboxKey is the namespace file');
    assert.deepEqual(ns.Ports, { '80/tcp': null });
    const byIp = await run('run', '--rm', BUSYBOX, 'wget', '-qO-', `http://${ns.IPAddress}/`);
    assert.equal(byIp.stdout, 'berth fixture web: OK\n', byIp.stderr);
    // (busybox's static resolver may crash rather than fail here: either way, no answer)
    const byName = await run('run', '--rm', BUSYBOX, 'wget', '-qO-', '-T', '2', 'http://web/');
    assert.notEqual(byName.code, 0);
    assert.doesNotMatch(byName.stdout, /OK/);
    const linked = await run('run', '--rm', '--link', 'web:site', BUSYBOX, 'wget', '-qO-', 'http://site/');
    assert.equal(linked.stdout, 'berth fixture web: OK\n', linked.stderr);
  });
});

describe('published ports', () => {
  it('reaches -p HOST:80, -p 127.0.0.1::80 and -P from the host, and shows them', async () => {
    await docker('run', '-d', '--name', 'fixed', '-p', `${HOST_PORT}:80`, WEB);
    await docker('run', '-d', '--name', 'local', '-p', '127.0.0.1::80', WEB);
    await docker('run', '-d', '--name', 'all', '-P', WEB);
    assert.equal(await get(`http://127.0.0.1:${HOST_PORT}/`), 'berth fixture web: OK\n');
    const hostAddr = (await exec('hostname', ['-I'])).stdout.trim().split(/\s+/)[0]!;
    assert.equal(await get(`http://${hostAddr}:${HOST_PORT}/`), 'berth fixture web: OK\n', "through the host's own address");
    const local = (await docker('port', 'local', '80')).stdout.trim();
    assert.match(local, /^127\.0\.0\.1:\d+$/);
    assert.equal(await get(`http://${local}/`), 'berth fixture web: OK\n');
    const all = (await docker('port', 'all', '80/tcp')).stdout.trim().split('\n')[0]!;
    assert.match(all, /^0\.0\.0\.0:\d+$/);
    assert.equal(await get(`http://127.0.0.1:${all.split(':')[1]}/`), 'berth fixture web: OK\n');
    const ps = (await docker('ps', '--format', '{{.Names}} {{.Ports}}')).stdout;
    assert.match(ps, new RegExp(`^fixed 0\\.0\\.0\\.0:${HOST_PORT}->80/tcp$`, 'm'));
    assert.equal((await docker('ps', '--filter', `publish=${HOST_PORT}`, '--format', '{{.Names}}')).stdout, 'fixed\n');
    // conmon holds the port for the container (the fd passed at its start)
    const conmon = (await docker('inspect', '-f', '{{.State.Pid}}', 'fixed')).stdout.trim();
    const ss = (await exec('ss', ['-Hltnp', `sport = :${HOST_PORT}`])).stdout;
    assert.match(ss, /"conmon"/);
    assert.ok(conmon.length > 0);
  });

  it("refuses a port another container holds, in Docker's words", async () => {
    await docker('run', '-d', '--name', 'first', '-p', `${HOST_PORT}:80`, WEB);
    const r = await run('run', '-d', '--name', 'second', '-p', `${HOST_PORT}:80`, WEB);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${HOST_PORT} failed: port is already allocated`));
    assert.doesNotMatch(r.stderr, /OCI runtime/);
    await docker('stop', '-t', '1', 'first');
    await docker('start', 'second');
    assert.equal(await get(`http://127.0.0.1:${HOST_PORT}/`), 'berth fixture web: OK\n', 'the port is free once its holder stopped');
  });
});

describe('connect and disconnect', () => {
  it('run --rm and stop: die, then disconnect, then destroy or stop, in Docker order; the network can go at once', async () => {
    await docker('network', 'create', 'brief');
    const since = Math.floor(Date.now() / 1000) - 1;
    // the bridge's last container: its teardown (bridge, rules) runs on after the CLI has its exit code
    const r = await run('run', '--rm', '--name', 'once', '--network', 'brief', BUSYBOX, 'sh', '-c', 'exit 4');
    assert.equal(r.code, 4);
    await docker('run', '-d', '--name', 'kept', '--network', 'brief', BUSYBOX, 'sleep', '300');
    await docker('stop', '-t', '1', 'kept');
    await docker('rm', 'kept');
    await docker('network', 'rm', 'brief');
    const events = (await docker('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=container', '--filter', 'type=network', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}')).stdout;
    const all = events.trim().split('\n');
    const mine = all.filter((l) => / (once|brief)$/.test(l)).slice(0, 8);
    assert.deepEqual(mine, ['network create brief', 'container create once', 'network connect brief', 'container attach once', 'container start once', 'container die once', 'network disconnect brief', 'container destroy once']);
    // a stop too (TERM, then KILL after 1 s: sleep ignores TERM as PID 1): the network goes after `die`
    const kept = all.filter((l) => / kept$/.test(l) || l === 'network disconnect brief').slice(1);
    assert.deepEqual(kept, ['container create kept', 'container start kept', 'container kill kept', 'container kill kept', 'container die kept', 'network disconnect brief', 'container stop kept', 'container destroy kept']);
    assert.equal(all[all.length - 1], 'network destroy brief');
  });

  it('adds and removes a network on a running container', async () => {
    await docker('network', 'create', 'front');
    await docker('network', 'create', 'back');
    await docker('run', '-d', '--name', 'web', '--network', 'back', WEB);
    await docker('run', '-d', '--name', 'client', '--network', 'front', BUSYBOX, 'sleep', '300');
    const before = await run('exec', 'client', 'wget', '-qO-', '-T', '2', 'http://web/');
    assert.notEqual(before.code, 0, 'not on the same network yet');
    await docker('network', 'connect', '--alias', 'cli', 'back', 'client');
    const addrs = (await docker('exec', 'client', 'ip', '-o', '-4', 'addr')).stdout;
    assert.match(addrs, /eth1\s+inet /);
    assert.equal((await docker('exec', 'client', 'wget', '-qO-', 'http://web/')).stdout, 'berth fixture web: OK\n');
    const ns = JSON.parse((await docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', 'client')).stdout);
    assert.deepEqual(Object.keys(ns).sort(), ['back', 'front']);
    assert.ok(ns.back.Aliases.includes('cli'));
    await docker('network', 'disconnect', 'back', 'client');
    const clientId = (await docker('inspect', '-f', '{{.Id}}', 'client')).stdout.trim();
    const events = (await docker('events', '--since', '0', '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=network', '--filter', 'network=back', '--format', '{{.Action}} {{.Actor.Attributes.container}}')).stdout;
    assert.deepEqual(events.trim().split('\n').filter((l) => l.endsWith(clientId)), [`connect ${clientId}`, `disconnect ${clientId}`]);
    assert.doesNotMatch((await docker('exec', 'client', 'ip', '-o', '-4', 'addr')).stdout, /eth1/);
    const again = await run('network', 'disconnect', 'back', 'client');
    assert.match(again.stderr, /is not connected to network back/);
    // a stopped container is only recorded, and gets the network at its next start
    await docker('stop', '-t', '0', 'client');
    await docker('network', 'connect', 'back', 'client');
    await docker('start', 'client');
    assert.match((await docker('exec', 'client', 'ip', '-o', '-4', 'addr')).stdout, /eth1\s+inet /);
  });
});

describe('network modes', () => {
  it('--network host shares the host stack, none has only lo', async () => {
    const hostLinks = readdirSync('/sys/class/net').length;
    const host = await run('run', '--rm', '--network', 'host', BUSYBOX, 'sh', '-c', 'ls /sys/class/net | wc -l');
    assert.equal(Number(host.stdout.trim()), hostLinks, host.stderr);
    const none = await run('run', '--rm', '--network', 'none', BUSYBOX, 'ls', '/sys/class/net');
    assert.equal(none.stdout, 'lo\n');
    const missing = await run('run', '--rm', '--network', 'nowhere', BUSYBOX, 'true');
    assert.match(missing.stderr, /network nowhere not found/);
  });
});

describe('crash safety', () => {
  it('a removal killed between the record and the network teardown is finished by the next start', async () => {
    const own = await startBerth({ env: { BERTH_NETWORK_POOL: 'base=10.138.0.0/16,size=24' } });
    const d = dockerFor(own);
    let again: Berth | undefined;
    try {
      await d('pull', '-q', BUSYBOX);
      await d('network', 'create', 'lost');
      const id = (await d('run', '-d', '--network', 'lost', BUSYBOX, 'sleep', '300')).stdout.trim();
      const def = JSON.parse((await d('network', 'inspect', 'lost')).stdout)[0];
      const subnet = def.IPAM.Config[0].Subnet as string;
      const bridge = (JSON.parse(readFileSync(join(own.root, 'networks', 'lost.json'), 'utf8')) as { network_interface: string }).network_interface;
      assert.ok(existsSync(`/sys/class/net/${bridge}`));
      // the state a remover killed right after deleting the record leaves: no process, no record, the network still set up
      const rec = JSON.parse(readFileSync(join(own.root, 'containers', id, 'container.json'), 'utf8')) as { State: { Pid: number; ConmonPid: number } };
      own.proc.kill('SIGKILL');
      await own.exited;
      process.kill(rec.State.ConmonPid, 'SIGKILL');
      process.kill(rec.State.Pid, 'SIGKILL');
      rmSync(join(own.root, 'containers', id, 'container.json'));
      assert.ok((await exec('iptables-save')).stdout.includes(subnet));

      again = await startBerth({ dir: own.dir, env: { BERTH_NETWORK_POOL: 'base=10.138.0.0/16,size=24' } });
      await waitFor(() => !existsSync(join(own.runroot, 'network', `${id}.json`)), 10_000, 'the sweep to tear the network down');
      assert.deepEqual(readdirSync(join(own.runroot, 'netns')), []);
      assert.ok(!existsSync(`/sys/class/net/${bridge}`), 'the bridge went with its last container');
      assert.ok(!(await exec('iptables-save')).stdout.includes(subnet), 'no rule for the subnet left');
      await dockerFor(again)('network', 'rm', 'lost');
    } finally {
      await (again ?? own).stop();
    }
  });
});

describe('docker-py', () => {
  it('creates, connects, lists and removes networks', async () => {
    const { stdout } = await py(`
net = client.networks.create('pynet', driver='bridge', labels={'k': 'v'})
c = client.containers.run('${BUSYBOX}', 'sleep 300', detach=True, name='pyc')
net.connect(c, aliases=['pyalias'])
net.reload()
c.reload()
out = {
  'names': sorted(n.name for n in client.networks.list()),
  'members': [x.name for x in net.containers],
  'aliases': c.attrs['NetworkSettings']['Networks']['pynet']['Aliases'],
  'label': client.networks.list(filters={'label': 'k=v'})[0].name,
}
net.disconnect(c)
c.remove(force=True)
net.remove()
out['after'] = sorted(n.name for n in client.networks.list())
print(json.dumps(out))
`);
    const out = JSON.parse(stdout);
    assert.deepEqual(out.names, ['bridge', 'host', 'none', 'pynet']);
    assert.deepEqual(out.members, ['pyc']);
    assert.ok(out.aliases.includes('pyalias'));
    assert.equal(out.label, 'pynet');
    assert.deepEqual(out.after, ['bridge', 'host', 'none']);
  });
});

void waitFor;
