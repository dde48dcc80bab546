// The OCI spec berth hands runc, built from a container record on a fake rootfs.
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildSpec, capabilities, mergeTmpfsOptions, processEnv, seccompFromProfile, type OciSpec, type SpecInput } from '../../src/engine/containers/oci-spec.ts';
import { DEFAULT_CAPABILITIES } from '../../src/engine/containers/spec-defaults.ts';
import type { ContainerConfig, HostConfig } from '../../src/engine/containers/types.ts';
import { tempDir } from '../helpers/berth.ts';

const ID = 'f'.repeat(64);

function input(config: ContainerConfig, hc: HostConfig, extra: Partial<SpecInput> = {}): SpecInput {
  const rootfs = tempDir();
  mkdirSync(join(rootfs, 'etc'));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nwheel:x:10:root\n');
  return {
    id: ID,
    rec: { Id: ID, Name: 'n', Created: '', Image: '', ImageName: 'img', Config: { Cmd: ['sh'], ...config }, HostConfig: hc, State: {} as never, RestartCount: 0, Layers: [] },
    rootfs,
    etc: { hosts: '/c/hosts', resolvConf: '/c/resolv.conf', hostname: '/c/hostname' },
    cgroupsPath: `/berth/${ID}`,
    seccompProfile: '/usr/share/containers/seccomp.json',
    namespacePath: async (kind, ref) => `/proc/${ref}/ns/${kind === 'network' ? 'net' : kind}`,
    ...extra,
  };
}

const mount = (spec: OciSpec, dest: string) => spec.mounts.find((m) => m.destination === dest);

describe('buildSpec, a plain container', async () => {
  const spec = await buildSpec(input({ Env: ['FOO=1', 'PATH=/custom'], Tty: true }, { ShmSize: 1 << 20, ConsoleSize: [30, 100] }));
  it("runs Docker's default process", () => {
    assert.deepEqual(spec.process.args, ['sh']);
    assert.deepEqual(spec.process.env, ['PATH=/custom', `HOSTNAME=${ID.slice(0, 12)}`, 'TERM=xterm', 'FOO=1', 'HOME=/root']);
    assert.deepEqual(spec.process.user, { uid: 0, gid: 0, additionalGids: [0, 10] });
    assert.equal(spec.process.cwd, '/');
    assert.deepEqual(spec.process.consoleSize, { height: 30, width: 100 });
    assert.deepEqual(spec.process.capabilities!.effective, DEFAULT_CAPABILITIES);
    assert.equal(spec.process.noNewPrivileges, false);
    assert.ok(spec.process.rlimits!.some((r) => r.type === 'RLIMIT_NOFILE'));
    assert.equal(spec.hostname, ID.slice(0, 12));
  });
  it("mounts Docker's defaults and the generated files", () => {
    assert.deepEqual(
      spec.mounts.map((m) => m.destination),
      ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm', '/etc/resolv.conf', '/etc/hostname', '/etc/hosts'],
    );
    assert.ok(mount(spec, '/dev/shm')!.options!.includes(`size=${1 << 20}`));
    assert.ok(mount(spec, '/sys')!.options!.includes('ro'));
    assert.deepEqual(mount(spec, '/etc/hosts'), { destination: '/etc/hosts', type: 'bind', source: '/c/hosts', options: ['rbind', 'rprivate'] });
  });
  it('confines: new namespaces, masked paths, device allow-list, seccomp', () => {
    assert.deepEqual(spec.linux.namespaces.map((n) => n.type), ['mount', 'network', 'uts', 'pid', 'ipc']);
    assert.ok(spec.linux.maskedPaths!.includes('/proc/kcore'));
    assert.ok(spec.linux.readonlyPaths!.includes('/proc/sys'));
    assert.deepEqual(spec.linux.resources!.devices![0], { allow: false, access: 'rwm' });
    assert.equal(spec.linux.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(spec.linux.cgroupsPath, `/berth/${ID}`);
    assert.equal(spec.linux.sysctl!['net.ipv4.ip_unprivileged_port_start'], '0');
  });
});

describe('buildSpec, HostConfig options', () => {
  it('user, working dir made for the user, groups, ulimits, init, oom score, no-new-privileges', async () => {
    const inp = input(
      { User: 'app', WorkingDir: '/work/dir', Entrypoint: ['/bin/app'], Cmd: ['-x'] },
      { GroupAdd: ['wheel'], Ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }, { Name: 'nproc', Soft: -1, Hard: -1 }], Init: true, OomScoreAdj: 500, SecurityOpt: ['no-new-privileges:true'] },
      { initPath: '/usr/bin/catatonit' },
    );
    const spec = await buildSpec(inp);
    assert.deepEqual(spec.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 10] });
    assert.equal(spec.process.cwd, '/work/dir');
    const st = statSync(join(inp.rootfs, 'work/dir'));
    assert.deepEqual([st.isDirectory(), st.uid, st.gid], [true, 1000, 1000]);
    assert.ok(spec.process.env.includes('HOME=/home/app'));
    assert.deepEqual(spec.process.rlimits, [
      { type: 'RLIMIT_NOFILE', soft: 100, hard: 200 },
      { type: 'RLIMIT_NPROC', soft: 2 ** 64 - 1, hard: 2 ** 64 - 1 },
    ]);
    assert.deepEqual(spec.process.args, ['/run/podman-init', '--', '/bin/app', '-x']);
    assert.deepEqual(mount(spec, '/run/podman-init'), { destination: '/run/podman-init', type: 'bind', source: '/usr/bin/catatonit', options: ['bind', 'ro'] });
    assert.equal(spec.process.oomScoreAdj, 500);
    assert.equal(spec.process.noNewPrivileges, true);
  });
  it('binds, mounts and tmpfs, parents first; a user mount replaces a default one; volumes go through the hook', async () => {
    const spec = await buildSpec(
      input(
        {},
        {
          Binds: ['/srv/a/b:/data/sub:ro,rslave', '/srv:/data', 'named:/vol:nocopy', '/anon'],
          Mounts: [{ Type: 'tmpfs', Target: '/dev/shm', TmpfsOptions: { SizeBytes: 4096, Mode: 0o1777, Options: [['exec']] } }],
          Tmpfs: { '/run': 'size=1m,exec' },
        },
        { volumeSource: async (name) => (name ? `/var/lib/berth/volumes/${name}/_data` : undefined) },
      ),
    );
    const user = spec.mounts.slice(-5);
    assert.deepEqual(user.map((m) => m.destination), ['/data', '/vol', '/run', '/data/sub', '/dev/shm']);
    assert.deepEqual(mount(spec, '/data/sub')!.options, ['rbind', 'ro', 'rslave']);
    assert.equal(mount(spec, '/vol')!.source, '/var/lib/berth/volumes/named/_data');
    assert.deepEqual(mount(spec, '/dev/shm')!.options, ['nosuid', 'nodev', 'mode=1777', 'size=4096', 'exec']);
    assert.equal(spec.mounts.filter((m) => m.destination === '/dev/shm').length, 1);
    assert.deepEqual(mount(spec, '/run')!.options, ['nosuid', 'nodev', 'size=1m', 'exec']);
    assert.equal(spec.linux.rootfsPropagation, 'rslave');
  });
  it('read-only rootfs makes Docker mounts read-only but the kernel ones', async () => {
    const spec = await buildSpec(input({}, { ReadonlyRootfs: true }));
    assert.equal(spec.root.readonly, true);
    assert.ok(mount(spec, '/etc/hosts')!.options!.includes('ro'));
    assert.ok(!mount(spec, '/dev/shm')!.options!.includes('ro'));
  });
  it('privileged: every capability, writable /sys and cgroups, no masks, no seccomp, all devices', async () => {
    const spec = await buildSpec(input({}, { Privileged: true }));
    assert.ok(spec.process.capabilities!.bounding.includes('CAP_SYS_ADMIN'));
    assert.ok(!mount(spec, '/sys')!.options!.includes('ro'));
    assert.ok(!mount(spec, '/sys/fs/cgroup')!.options!.includes('ro'));
    assert.equal(spec.linux.maskedPaths, undefined);
    assert.equal(spec.linux.seccomp, undefined);
    assert.deepEqual(spec.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
    assert.ok(spec.linux.devices!.some((d) => d.path === '/dev/null'));
  });
  it('joins namespaces: host modes leave them out, container: modes give a path, netnsPath wins', async () => {
    const spec = await buildSpec(input({}, { PidMode: 'host', IpcMode: 'container:db', UTSMode: 'host', NetworkMode: 'container:web', CgroupnsMode: 'private' }));
    assert.deepEqual(spec.linux.namespaces, [{ type: 'mount' }, { type: 'network', path: '/proc/web/ns/net' }, { type: 'ipc', path: '/proc/db/ns/ipc' }, { type: 'cgroup' }]);
    assert.equal(spec.hostname, undefined);
    assert.equal(spec.linux.sysctl, undefined);
    const netns = await buildSpec(input({}, { NetworkMode: 'bridge' }, { netnsPath: '/run/netns/x' }));
    assert.deepEqual(netns.linux.namespaces[1], { type: 'network', path: '/run/netns/x' });
    const none = await buildSpec(input({}, { IpcMode: 'none' }));
    assert.equal(mount(none, '/dev/shm'), undefined);
  });
  it('devices from the host, masked paths, sysctls, resources, domainname and annotations', async () => {
    const spec = await buildSpec(
      input(
        { Domainname: 'example.com' },
        {
          Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }],
          MaskedPaths: ['/proc/x'],
          ReadonlyPaths: [],
          Sysctls: { 'net.core.somaxconn': '1024' },
          Memory: 64 << 20,
          PidsLimit: 10,
          Annotations: { a: 'b' },
          SecurityOpt: ['seccomp=unconfined'],
        },
      ),
    );
    assert.deepEqual(spec.linux.devices, [{ type: 'c', path: '/dev/mynull', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
    assert.deepEqual(spec.linux.resources!.devices!.at(-1), { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' });
    assert.deepEqual(spec.linux.maskedPaths, ['/proc/x']);
    assert.deepEqual(spec.linux.readonlyPaths, []);
    assert.equal(spec.linux.sysctl!['net.core.somaxconn'], '1024');
    assert.deepEqual(spec.linux.resources!.memory, { limit: 64 << 20 });
    assert.deepEqual(spec.linux.resources!.pids, { limit: 10 });
    assert.equal(spec.domainname, 'example.com');
    assert.deepEqual(spec.annotations, { a: 'b' });
    assert.equal(spec.linux.seccomp, undefined);
    await assert.rejects(buildSpec(input({}, { Devices: [{ PathOnHost: '/dev/nope' }] })), {
      message: 'error gathering device information while adding custom device "/dev/nope": no such file or directory',
    });
  });
});

describe('pieces', () => {
  it('capabilities: add, drop, ALL, any case, with or without CAP_', () => {
    const all = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN'];
    assert.deepEqual(capabilities({ CapAdd: ['net_admin'], CapDrop: ['CAP_CHOWN', 'mknod'] }, all), [
      ...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN' && c !== 'CAP_MKNOD'),
      'CAP_NET_ADMIN',
    ]);
    assert.deepEqual(capabilities({ CapAdd: ['all'], CapDrop: ['sys_admin'] }, all), ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_ADMIN']);
    assert.deepEqual(capabilities({ CapDrop: ['ALL'], CapAdd: ['Kill'] }, all), ['CAP_KILL']);
    assert.deepEqual(capabilities({ Privileged: true, CapDrop: ['ALL'] }, all), all);
  });
  it('env: Config.Env replaces by key, entries without = are dropped, HOME added once', () => {
    assert.deepEqual(processEnv(['HOSTNAME=mine', 'BARE', 'HOME=/h'], 'h', false, '/root'), ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=mine', 'HOME=/h']);
  });
  it('tmpfs options: the user overrides the defaults', () => {
    assert.deepEqual(mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'size=65536k'], ['exec', 'size=1m', 'ro']), ['nosuid', 'nodev', 'exec', 'size=1m', 'ro']);
  });
  it('seccomp: rules follow the capabilities and the architecture', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      archMap: [
        { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
        { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      ],
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW', args: [] },
        { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      ],
    };
    assert.deepEqual(seccompFromProfile(profile, ['CAP_CHOWN'], 'amd64'), {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    const arm = seccompFromProfile(profile, ['CAP_SYS_ADMIN'], 'arm64');
    assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    assert.deepEqual(arm.syscalls!.map((s) => `${s.names[0]}:${s.action}`), ['read:SCMP_ACT_ALLOW', 'mount:SCMP_ACT_ALLOW', 'personality:SCMP_ACT_ALLOW']);
  });
});
