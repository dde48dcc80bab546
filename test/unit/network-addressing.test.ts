// Subnets and published ports: CIDR math, the address pools, the host's routes, and the
// PortBindings → NetworkSettings.Ports → `docker ps` Ports path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrOverlaps, cidrText, formatIPv4, parseCidr, parseIPv4 } from '../../src/engine/network/ipnet.ts';
import { DEFAULT_POOLS, parsePools, parseRoutes, pickSubnet } from '../../src/engine/network/subnet-pool.ts';
import { portList, portRequests, portsMap } from '../../src/engine/network/port-bindings.ts';

describe('ipnet', () => {
  it('parses and prints addresses and blocks, clearing host bits', () => {
    assert.equal(formatIPv4(parseIPv4('172.17.0.1')!), '172.17.0.1');
    assert.equal(parseIPv4('256.1.1.1'), undefined);
    assert.equal(cidrText(parseCidr('10.1.2.3/16')), '10.1.0.0/16');
    assert.throws(() => parseCidr('10.1.0.0/33'), /invalid CIDR address: 10.1.0.0\/33/);
  });
  it('overlap is symmetric and prefix-aware', () => {
    assert.equal(cidrOverlaps(parseCidr('172.16.0.0/12'), parseCidr('172.20.0.0/16')), true);
    assert.equal(cidrOverlaps(parseCidr('172.20.0.0/16'), parseCidr('172.16.0.0/12')), true);
    assert.equal(cidrOverlaps(parseCidr('172.17.0.0/16'), parseCidr('172.18.0.0/16')), false);
  });
});

describe('subnet pool', () => {
  it("takes Docker's order: 172.17, then the next free /16, then 192.168.x.0/20", () => {
    assert.equal(cidrText(pickSubnet(DEFAULT_POOLS, [])!), '172.17.0.0/16');
    assert.equal(cidrText(pickSubnet(DEFAULT_POOLS, [parseCidr('172.17.0.0/16'), parseCidr('172.18.5.0/24')])!), '172.19.0.0/16');
    assert.equal(cidrText(pickSubnet(DEFAULT_POOLS, [parseCidr('172.16.0.0/12')])!), '192.168.0.0/20');
    assert.equal(pickSubnet(DEFAULT_POOLS, [parseCidr('0.0.0.0/1'), parseCidr('128.0.0.0/1')]), undefined);
  });
  it("reads dockerd's --default-address-pool form", () => {
    const pools = parsePools('base=10.90.0.0/16,size=24 base=10.91.0.0/16,size=24');
    assert.equal(cidrText(pickSubnet(pools, [parseCidr('10.90.0.0/24')])!), '10.90.1.0/24');
    assert.throws(() => parsePools('base=10.0.0.0/16'), /want base=CIDR,size=N/);
  });
  it('reads /proc/net/route, leaving the default route out', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    ].join('\n');
    assert.deepEqual(parseRoutes(text).map(cidrText), ['10.0.0.0/24', '172.17.0.0/16']);
  });
});

describe('published ports', () => {
  const config = { ExposedPorts: { '80/tcp': {}, '53/udp': {} } };
  it('reads PortBindings (empty HostPort = any, ranges) and PublishAllPorts for the rest', () => {
    const reqs = portRequests(config, { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }, { HostPort: '8000-8010' }] }, PublishAllPorts: true });
    assert.deepEqual(reqs, [
      { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostRange: [0, 0] },
      { containerPort: 80, protocol: 'tcp', hostIp: '', hostRange: [8000, 8010] },
      { containerPort: 53, protocol: 'udp', hostIp: '', hostRange: [0, 0] },
    ]);
  });
  it('refuses malformed bindings with a 400', () => {
    assert.throws(() => portRequests({}, { PortBindings: { '80/xyz': [] } }), /invalid port specification: "80\/xyz"/);
    assert.throws(() => portRequests({}, { PortBindings: { '80': [{ HostPort: 'abc' }] } }), /invalid port specification/);
    assert.throws(() => portRequests({}, { PortBindings: { '80': [{ HostIp: 'nope', HostPort: '1' }] } }), /invalid IP address: nope/);
  });
  it("shows Docker's Ports map (null for exposed only) and the ps list", () => {
    const map = portsMap(config, {}, [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 18080 }]);
    assert.deepEqual(map, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '18080' }], '53/udp': null });
    assert.deepEqual(portList(map), [
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 18080, Type: 'tcp' },
      { PrivatePort: 53, Type: 'udp' },
    ]);
  });
});
