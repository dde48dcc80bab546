// The create body as Docker takes it: image merge, defaults, and Docker's messages for bad values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyHostConfigDefaults,
  mergeImageConfig,
  parseBind,
  processArgs,
  stopSignal,
  stopTimeout,
  validateHostConfig,
} from '../../src/engine/containers/create-config.ts';
import { hostsFile, parseExtraHost, resolvConf } from '../../src/engine/containers/etc-files.ts';
import { linuxResources, resourcesForUpdate } from '../../src/engine/containers/resources.ts';
import type { HostConfig } from '../../src/engine/containers/types.ts';
import { InvalidArgument } from '../../src/engine/errors.ts';

const image = {
  Env: ['PATH=/usr/bin', 'LANG=C'],
  Cmd: ['nginx', '-g', 'daemon off;'],
  Entrypoint: ['/docker-entrypoint.sh'],
  ExposedPorts: { '80/tcp': {} },
  Labels: { a: 'image', b: 'image' },
  WorkingDir: '/srv',
  StopSignal: 'SIGQUIT',
  Volumes: { '/cache': {} },
};

describe('mergeImageConfig', () => {
  it('keeps the body first in Env and adds the image entries whose key it does not set', () => {
    const c = mergeImageConfig({ Env: ['LANG=fr', 'X=1'] }, image);
    assert.deepEqual(c.Env, ['LANG=fr', 'X=1', 'PATH=/usr/bin']);
  });
  it('takes Cmd and Entrypoint from the image when the body has neither', () => {
    const c = mergeImageConfig({}, image);
    assert.deepEqual(processArgs(c), ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;']);
  });
  it("drops the image's Cmd when the body gives an Entrypoint", () => {
    const c = mergeImageConfig({ Entrypoint: ['/bin/sh'] }, image);
    assert.deepEqual(processArgs(c), ['/bin/sh']);
  });
  it("keeps the image's Entrypoint when the body gives only a Cmd", () => {
    const c = mergeImageConfig({ Cmd: ['-v'] }, image);
    assert.deepEqual(processArgs(c), ['/docker-entrypoint.sh', '-v']);
  });
  it('clears the entrypoint with [""]', () => {
    const c = mergeImageConfig({ Entrypoint: [''], Cmd: ['ls'] }, image);
    assert.equal(c.Entrypoint, null);
    assert.deepEqual(processArgs(c), ['ls']);
  });
  it('unions ports, volumes and labels; the body wins a label; image fills WorkingDir and StopSignal', () => {
    const c = mergeImageConfig({ ExposedPorts: { '443/tcp': {} }, Labels: { b: 'body' }, Volumes: { '/data': {} } }, image);
    assert.deepEqual(Object.keys(c.ExposedPorts!).sort(), ['443/tcp', '80/tcp']);
    assert.deepEqual(c.Labels, { a: 'image', b: 'body' });
    assert.deepEqual(Object.keys(c.Volumes!).sort(), ['/cache', '/data']);
    assert.equal(c.WorkingDir, '/srv');
    assert.equal(stopSignal(c), 'SIGQUIT');
  });
  it('says "No command specified" when nothing is left to run', () => {
    assert.throws(() => processArgs(mergeImageConfig({}, {})), { message: 'No command specified' });
  });
});

describe('defaults and helpers', () => {
  it("fills in Docker's create-time defaults", () => {
    const hc = applyHostConfigDefaults({ Memory: 100 << 20 });
    assert.equal(hc.MemorySwap, 200 << 20);
    assert.equal(hc.ShmSize, 64 << 20);
    assert.equal(hc.IpcMode, 'private');
    assert.equal(hc.CgroupnsMode, 'host');
    assert.equal(applyHostConfigDefaults({}, { cgroupV2: true }).CgroupnsMode, 'private');
  });
  it('stop signal and timeout default to SIGTERM and 10 s; numbers and short names are accepted', () => {
    assert.equal(stopSignal({}), 'SIGTERM');
    assert.equal(stopSignal({ StopSignal: '9' }), 'SIGKILL');
    assert.equal(stopSignal({ StopSignal: 'usr1' }), 'SIGUSR1');
    assert.equal(stopTimeout({}), 10);
    assert.equal(stopTimeout({ StopTimeout: 0 }), 0);
  });
});

describe('validateHostConfig', () => {
  const cases: Array<[string, HostConfig, string, Record<string, unknown>?]> = [
    ['memory below 6MB', { Memory: 1024 }, 'Minimum memory limit allowed is 6MB'],
    ['swap below memory', { Memory: 64 << 20, MemorySwap: 32 << 20 }, 'Minimum memoryswap limit should be larger than memory limit, see usage'],
    ['swap without memory', { MemorySwap: 64 << 20 }, 'You should always set the Memory limit when using Memoryswap limit, see usage'],
    ['swappiness', { MemorySwappiness: 101 }, 'Invalid value: 101, valid memory swappiness range is 0-100'],
    ['nano and period', { NanoCpus: 1e9, CpuPeriod: 50000 }, 'Conflicting options: Nano CPUs and CPU Period cannot both be set'],
    ['nano and quota', { NanoCpus: 1e9, CpuQuota: 50000 }, 'Conflicting options: Nano CPUs and CPU Quota cannot both be set'],
    ['too many cpus', { NanoCpus: 1000e9 }, 'range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'],
    ['cfs period', { CpuPeriod: 10 }, 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)'],
    ['blkio weight', { BlkioWeight: 5 }, 'Range of blkio weight is from 10 to 1000'],
    ['autoremove with restart', { AutoRemove: true, RestartPolicy: { Name: 'always' } }, "can't create 'AutoRemove' container with restart policy"],
    [
      'unknown restart policy',
      { RestartPolicy: { Name: 'sometimes' as 'always' } },
      "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
    ],
    ['negative retries', { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } }, 'invalid restart policy: maximum retry count cannot be negative'],
    ['retries with always', { RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } }, "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
    ['bind mode', { Binds: ['/a:/b:bogus'] }, 'invalid mode: bogus'],
    ['bind relative target', { Binds: ['/a:b'] }, `invalid volume specification: '/a:b': invalid mount config for type "bind": invalid mount path: 'b' mount path must be absolute`],
    ['bind destination only with mode', { Binds: ['/a:ro'] }, "invalid volume specification: '/a:ro'"],
    ['mount without target', { Mounts: [{ Type: 'bind', Source: '/tmp' }] }, 'invalid mount config for type "bind": field Target must not be empty'],
    [
      'bind source missing',
      { Mounts: [{ Type: 'bind', Source: '/no/such/dir', Target: '/x' }] },
      'invalid mount config for type "bind": bind source path does not exist: /no/such/dir',
    ],
    ['tmpfs with source', { Mounts: [{ Type: 'tmpfs', Source: 'x', Target: '/x' }] }, 'invalid mount config for type "tmpfs": field Source must not be specified'],
    ['ipc mode', { IpcMode: 'bogus' }, 'invalid IPC mode: bogus'],
    ['pid mode', { PidMode: 'container:' }, 'invalid PID mode: container:'],
    ['uts mode', { UTSMode: 'private' }, 'invalid UTS mode: private'],
    ['cgroupns mode', { CgroupnsMode: 'shared' }, 'invalid cgroup namespace mode: shared'],
    ['network container without name', { NetworkMode: 'container:' }, 'invalid network mode: invalid container format container:<name|id>'],
    ['cap name', { CapAdd: ['net_admin', 'bogus'] }, 'invalid CapAdd: unknown capability: "CAP_BOGUS"'],
    ['oom score', { OomScoreAdj: 2000 }, 'Invalid value 2000, range for oom score adj is [-1000, 1000]'],
    ['extra host', { ExtraHosts: ['nocolon'] }, 'bad format for add-host: "nocolon"'],
    ['extra host ip', { ExtraHosts: ['db:999.1.1.1'] }, 'invalid IP address in add-host: "999.1.1.1"'],
    ['security opt', { SecurityOpt: ['bogus=1'] }, 'invalid --security-opt 2: "bogus=1"'],
    ['device cgroup rule', { DeviceCgroupRules: ['c 1:3 x'] }, "invalid device cgroup rule format: 'c 1:3 x'"],
  ];
  for (const [name, hc, message] of cases) {
    it(`rejects ${name}`, () => {
      assert.throws(() => validateHostConfig(hc, {}, { cpus: 2 }), (err: unknown) => {
        assert.ok(err instanceof InvalidArgument, String(err));
        assert.equal(err.message, message);
        return true;
      });
    });
  }
  it('checks the config too: relative WorkingDir, bad StopSignal, hostname with network container', () => {
    assert.throws(() => validateHostConfig({}, { WorkingDir: 'rel' }), { message: "the working directory 'rel' is invalid, it needs to be an absolute path" });
    assert.throws(() => validateHostConfig({}, { StopSignal: 'SIGNOPE' }), { message: 'invalid signal: SIGNOPE' });
    assert.throws(() => validateHostConfig({ NetworkMode: 'container:db' }, { Hostname: 'x' }), { message: 'conflicting options: hostname and the network mode' });
  });
  it('accepts a full, valid body', () => {
    validateHostConfig(
      {
        Memory: 64 << 20,
        MemorySwap: -1,
        NanoCpus: 5e8,
        RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
        Binds: ['/tmp:/host-tmp:ro,rslave', 'vol:/data:nocopy', '/anon'],
        Mounts: [{ Type: 'bind', Source: '/tmp', Target: '/t' }, { Type: 'tmpfs', Target: '/run', TmpfsOptions: { SizeBytes: 1 << 20, Options: [['exec']] } }],
        CapAdd: ['ALL'],
        CapDrop: ['cap_chown', 'Sys_Admin'],
        ExtraHosts: ['a:1.2.3.4', 'b=::1', 'gw:host-gateway'],
        IpcMode: 'shareable',
        PidMode: 'container:other',
        SecurityOpt: ['no-new-privileges:true', 'seccomp=unconfined', 'label=disable'],
        Tmpfs: { '/tmp': 'size=1m' },
      },
      { WorkingDir: '/srv', StopSignal: 'SIGINT' },
      { cpus: 2 },
    );
  });
});

describe('parseBind', () => {
  it('reads binds, volumes and options', () => {
    assert.deepEqual(parseBind('/src//x:/dst:ro,rshared'), {
      source: '/src/x',
      target: '/dst',
      type: 'bind',
      readOnly: true,
      propagation: 'rshared',
      noCopy: false,
      label: undefined,
      mode: 'ro,rshared',
    });
    const v = parseBind('data:/var/lib/data:nocopy');
    assert.equal(v.type, 'volume');
    assert.equal(v.source, 'data');
    assert.equal(v.noCopy, true);
    assert.equal(v.propagation, 'rprivate');
    assert.equal(parseBind('/anon').source, '');
  });
});

describe('resources', () => {
  it('maps Docker fields to linux.resources', () => {
    assert.deepEqual(
      linuxResources({ Memory: 64 << 20, MemorySwap: -1, MemorySwappiness: -1, NanoCpus: 1.5e9, CpuShares: 512, PidsLimit: 0, CpusetCpus: '0-1', BlkioWeight: 300 }),
      { memory: { limit: 64 << 20, swap: -1 }, cpu: { shares: 512, period: 100000, quota: 150000, cpus: '0-1' }, pids: { limit: -1 }, blockIO: { weight: 300 } },
    );
    assert.deepEqual(linuxResources({ CpuQuota: 20000, CpuPeriod: 40000, PidsLimit: 100, DeviceCgroupRules: ['c 10:* rw'] }), {
      cpu: { quota: 20000, period: 40000 },
      pids: { limit: 100 },
      devices: [{ allow: true, type: 'c', major: 10, access: 'rw' }],
    });
  });
  it('for docker update, only what was given', () => {
    assert.deepEqual(resourcesForUpdate({ Memory: 128 << 20, CpuShares: 0, RestartPolicy: { Name: 'always' } }), { memory: { limit: 128 << 20 } });
    assert.deepEqual(resourcesForUpdate({ PidsLimit: 0 }), { pids: { limit: -1 } });
  });
});

describe('etc files', () => {
  it('parses name:ip, name=ip and bracketed IPv6', () => {
    assert.deepEqual(parseExtraHost('db:10.0.0.2'), { name: 'db', ip: '10.0.0.2' });
    assert.deepEqual(parseExtraHost('v6:::1'), { name: 'v6', ip: '::1' });
    assert.deepEqual(parseExtraHost('v6=[fe80::1]'), { name: 'v6', ip: 'fe80::1' });
  });
  it('writes /etc/hosts as Docker does', () => {
    const text = hostsFile({ hostname: 'web', domainname: 'example.com', extraHosts: ['db:10.0.0.2', 'gw:host-gateway'], ips: ['172.17.0.3'], hostGateway: '172.17.0.1' });
    assert.equal(
      text,
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n' +
        '10.0.0.2\tdb\n172.17.0.1\tgw\n172.17.0.3\tweb.example.com web\n',
    );
    assert.equal(hostsFile({ hostname: 'h', ips: ['fd00::2', '10.0.0.3'], ipv6: false }), '127.0.0.1\tlocalhost\n10.0.0.3\th\n');
    assert.equal(hostsFile({ hostname: 'h', hostHosts: 'host file\n' }), 'host file\n');
  });
  it('writes resolv.conf: loopback nameservers dropped, Google as fallback, overrides replace', () => {
    const host = '# comment\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\nsearch lan\n';
    const text = resolvConf({ host });
    assert.match(text, /^nameserver 8\.8\.8\.8\nnameserver 8\.8\.4\.4\nsearch lan\noptions edns0\n/);
    assert.match(text, /# Used default nameservers\./);
    const custom = resolvConf({ host: 'nameserver 10.0.0.1\nnameserver fd00::1\n', dns: ['1.1.1.1'], dnsSearch: ['a.com'], dnsOptions: ['ndots:2'] });
    assert.match(custom, /^nameserver 1\.1\.1\.1\nsearch a\.com\noptions ndots:2\n/);
    assert.match(resolvConf({ host: 'nameserver 10.0.0.1\nnameserver fd00::1\n' }), /^nameserver 10\.0\.0\.1\n\n/);
    assert.match(resolvConf({ host, networkMode: 'host' }), /^nameserver 127\.0\.0\.53\nnameserver ::1\n/);
  });
});
