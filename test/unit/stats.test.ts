// Container stats: cgroup v1 and v2 files in their kernel formats (fixtures in temp dirs),
// /proc parsing, the numbers the docker CLI derives from a sample, and a real process in a
// real cgroup v1 hierarchy (when we are root on a v1 host).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cgroupDirPids, cgroupPids, cgroupVersion, containerCgroups, parseCgroupMounts, parseProcCgroup, resolveCgroups } from '../../src/engine/runtime/cgroups.ts';
import {
  emptyStats,
  parseBlkioV1,
  parseIoStatV2,
  parseNetDev,
  parseProcStat,
  parseU64,
  readCgroupV1,
  readCgroupV2,
  readStats,
  type DockerStats,
} from '../../src/engine/runtime/stats.ts';
import { tempDir as makeTempDir } from '../helpers/berth.ts';

const scratch: string[] = [];
const tempDir = () => {
  const dir = makeTempDir('berth-stats-');
  scratch.push(dir);
  return dir;
};
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

const GiB = 1024 ** 3;

function writeFiles(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

// What `docker stats` computes from a sample (docker/cli stats_helpers.go, in words).
function cliCpuPercent(s: DockerStats): number {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats.online_cpus || (s.cpu_stats.cpu_usage.percpu_usage?.length ?? 0);
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
}
function cliMemUsage(s: DockerStats): number {
  const m = s.memory_stats;
  const usage = m.usage ?? 0;
  const v1 = m.stats?.['total_inactive_file'];
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = m.stats?.['inactive_file'] ?? 0;
  return v2 < usage ? usage - v2 : usage;
}

const HYBRID_MOUNTINFO = `25 1 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 25 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:28 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
32 30 0:29 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
35 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
36 30 0:33 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
37 30 0:34 /berth-ns /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids
38 30 0:35 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,blkio
`;
const V1_PROC_CGROUP = `12:pids:/berth-ns/berth/abc
11:memory:/berth/abc
6:cpu,cpuacct:/berth/abc
4:blkio:/berth/abc
1:name=systemd:/berth/abc
0::/berth/abc
`;

describe('finding a process cgroups', () => {
  it('parses /proc/<pid>/cgroup, v1 and v2 lines alike', () => {
    assert.deepEqual(parseProcCgroup(V1_PROC_CGROUP).slice(1, 3), [
      { hierarchy: 11, controllers: ['memory'], path: '/berth/abc' },
      { hierarchy: 6, controllers: ['cpu', 'cpuacct'], path: '/berth/abc' },
    ]);
    assert.deepEqual(parseProcCgroup('0::/system.slice/x.scope\n'), [{ hierarchy: 0, controllers: [], path: '/system.slice/x.scope' }]);
  });

  it('reads the cgroup mounts of mountinfo, with their controllers and roots', () => {
    const mounts = parseCgroupMounts(HYBRID_MOUNTINFO);
    assert.equal(mounts.length, 6);
    assert.deepEqual(mounts.find((m) => m.controllers.includes('cpuacct')), { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/', version: 1, controllers: ['cpu', 'cpuacct'] });
    assert.deepEqual(mounts.find((m) => m.version === 2), { mountPoint: '/sys/fs/cgroup/unified', root: '/', version: 2, controllers: [] });
    assert.equal(mounts.find((m) => m.controllers.includes('name=systemd'))?.mountPoint, '/sys/fs/cgroup/systemd');
  });

  it('maps a v1 process to each controller directory, through co-mounts and mount roots', () => {
    const cg = resolveCgroups(V1_PROC_CGROUP, parseCgroupMounts(HYBRID_MOUNTINFO), 1);
    assert.equal(cg.version, 1);
    assert.equal(cg.paths['cpu'], '/sys/fs/cgroup/cpu,cpuacct/berth/abc');
    assert.equal(cg.paths['cpuacct'], '/sys/fs/cgroup/cpu,cpuacct/berth/abc');
    assert.equal(cg.paths['memory'], '/sys/fs/cgroup/memory/berth/abc');
    assert.equal(cg.paths['pids'], '/sys/fs/cgroup/pids/berth/abc', 'the mount root is cut off the path');
    assert.equal(cg.paths['blkio'], '/sys/fs/cgroup/blkio/berth/abc');
    assert.equal(cg.paths['unified'], '/sys/fs/cgroup/unified/berth/abc');
  });

  it('maps a v2 process to its one unified directory', () => {
    const mounts = parseCgroupMounts('40 30 0:37 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n');
    const cg = resolveCgroups('0::/berth/abc\n', mounts, 2);
    assert.equal(cg.version, 2);
    assert.equal(cg.paths['unified'], '/sys/fs/cgroup/berth/abc');
    assert.equal(cg.paths['memory'], '/sys/fs/cgroup/berth/abc');
  });

  it('tells v1 from v2 by the unified root files', () => {
    const dir = tempDir();
    assert.equal(cgroupVersion(dir), 1);
    writeFileSync(join(dir, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    assert.equal(cgroupVersion(dir), 2);
  });

  it('lists the pids of a cgroup and of the cgroups below it', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'cgroup.procs': '12\n7\n' });
    writeFiles(join(dir, 'sub'), { 'cgroup.procs': '40\n' });
    assert.deepEqual(await cgroupDirPids(dir), [7, 12, 40]);
  });
});

describe('cgroup counters', () => {
  it('keeps uint64 counters valid for Go: unlimited clamps below 2^63, max is undefined', () => {
    assert.equal(parseU64('4096\n'), 4096);
    assert.equal(parseU64('max\n'), undefined);
    assert.equal(String(parseU64('18446744073709551615')), '9223372036854776000');
    assert.ok(BigInt(String(parseU64('18446744073709551615'))) < 2n ** 64n);
  });

  it('reads a v1 container: cpuacct, cpu.stat, memory, pids and throttle blkio', async () => {
    const root = tempDir();
    const d = (c: string) => join(root, c);
    writeFiles(d('cpuacct'), {
      'cpuacct.usage': '2500000000\n',
      'cpuacct.usage_percpu': '1500000000 1000000000 \n',
      'cpuacct.stat': 'user 150\nsystem 80\n',
    });
    writeFiles(d('cpu'), { 'cpu.stat': 'nr_periods 10\nnr_throttled 2\nthrottled_time 5000000\nnr_bursts 0\nburst_time 0\n' });
    writeFiles(d('memory'), {
      'memory.usage_in_bytes': '20971520\n',
      'memory.max_usage_in_bytes': '31457280\n',
      'memory.limit_in_bytes': '9223372036854771712\n',
      'memory.failcnt': '0\n',
      'memory.stat':
        'cache 8388608\nrss 10485760\nrss_huge 0\nshmem 0\nmapped_file 4096\ndirty 0\nwriteback 0\nswap 0\npgpgin 100\npgpgout 50\npgfault 300\npgmajfault 1\n' +
        'inactive_anon 0\nactive_anon 10485760\ninactive_file 4194304\nactive_file 4194304\nunevictable 0\n' +
        'hierarchical_memory_limit 9223372036854771712\nhierarchical_memsw_limit 9223372036854771712\n' +
        'total_cache 8388608\ntotal_rss 10485760\ntotal_inactive_file 6291456\ntotal_active_file 2097152\n',
    });
    writeFiles(d('pids'), { 'pids.current': '3\n', 'pids.max': 'max\n' });
    writeFiles(d('blkio'), {
      'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n',
      'blkio.throttle.io_serviced_recursive': '8:0 Read 1\n8:0 Write 2\nTotal 3\n',
    });
    const s = await readCgroupV1({ cpu: d('cpu'), cpuacct: d('cpuacct'), memory: d('memory'), pids: d('pids'), blkio: d('blkio') }, 8 * GiB);
    assert.deepEqual(s.cpu, {
      cpu_usage: { total_usage: 2500000000, percpu_usage: [1500000000, 1000000000], usage_in_kernelmode: 800000000, usage_in_usermode: 1500000000 },
      throttling_data: { periods: 10, throttled_periods: 2, throttled_time: 5000000 },
    });
    assert.equal(s.memory.usage, 20971520);
    assert.equal(s.memory.max_usage, 31457280);
    assert.equal(s.memory.limit, 8 * GiB, 'an unlimited container shows the host memory');
    assert.equal('failcnt' in s.memory, false, 'zero is left out, as Go omitempty does');
    assert.equal(s.memory.stats?.['total_inactive_file'], 6291456);
    assert.equal(s.memory.stats?.['total_unevictable'], 0, 'every key Docker reports is there');
    assert.equal('swap' in (s.memory.stats ?? {}), false, 'and none it does not');
    assert.deepEqual(s.pids, { current: 3 });
    assert.deepEqual(s.blkio.io_service_bytes_recursive?.slice(0, 2), [
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 8192 },
    ]);
    assert.equal(s.blkio.io_service_bytes_recursive?.length, 6, 'the Total line without a device is dropped');
    assert.deepEqual(s.blkio.io_queue_recursive, []);
  });

  it('reads a limited v1 container and CFQ blkio files when the kernel has them', async () => {
    const root = tempDir();
    writeFiles(join(root, 'memory'), { 'memory.usage_in_bytes': '1000\n', 'memory.limit_in_bytes': '67108864\n', 'memory.failcnt': '4\n', 'memory.stat': 'total_inactive_file 10\n' });
    writeFiles(join(root, 'blkio'), { 'blkio.io_service_bytes_recursive': '253:1 Read 10\nTotal 10\n', 'blkio.sectors_recursive': '253:1 20\n' });
    const s = await readCgroupV1({ memory: join(root, 'memory'), blkio: join(root, 'blkio') }, 8 * GiB);
    assert.equal(s.memory.limit, 67108864);
    assert.equal(s.memory.failcnt, 4);
    assert.deepEqual(s.blkio.io_service_bytes_recursive, [{ major: 253, minor: 1, op: 'Read', value: 10 }]);
    assert.deepEqual(s.blkio.sectors_recursive, [{ major: 253, minor: 1, op: '', value: 20 }]);
  });

  it('reads a v2 container: cpu.stat in µs, memory.current/max/stat/events, pids, io.stat', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'cpu.stat': 'usage_usec 2500000\nuser_usec 1500000\nsystem_usec 1000000\nnr_periods 4\nnr_throttled 1\nthrottled_usec 2000\n',
      'memory.current': '20971520\n',
      'memory.max': 'max\n',
      'memory.stat': 'anon 10485760\nfile 8388608\nkernel_stack 16384\ninactive_file 4194304\nactive_file 4194304\npgfault 300\nzswap 0\n',
      'memory.events': 'low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n',
      'pids.current': '2\n',
      'pids.max': '100\n',
      'io.stat': '8:16 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
    });
    const s = await readCgroupV2(dir, 8 * GiB);
    assert.deepEqual(s.cpu, {
      cpu_usage: { total_usage: 2500000000, usage_in_kernelmode: 1000000000, usage_in_usermode: 1500000000 },
      throttling_data: { periods: 4, throttled_periods: 1, throttled_time: 2000000 },
    });
    assert.equal(s.memory.usage, 20971520);
    assert.equal(s.memory.limit, 8 * GiB);
    assert.equal(s.memory.failcnt, 1, "v2's failcnt is memory.events oom");
    assert.equal(s.memory.stats?.['inactive_file'], 4194304);
    assert.equal('zswap' in (s.memory.stats ?? {}), false);
    assert.equal('max_usage' in s.memory, false);
    assert.deepEqual(s.pids, { current: 2, limit: 100 });
    assert.deepEqual(s.blkio.io_service_bytes_recursive, [
      { major: 8, minor: 16, op: 'read', value: 4096 },
      { major: 8, minor: 16, op: 'write', value: 8192 },
    ]);
    assert.equal(s.blkio.io_serviced_recursive, null, 'v2 has only io_service_bytes_recursive');
  });

  it('leaves out memory stats of a cgroup without the memory controller', async () => {
    const s = await readCgroupV2(tempDir(), 8 * GiB);
    assert.deepEqual(s.memory, {});
    assert.deepEqual(s.pids, {});
    assert.equal(s.blkio.io_service_bytes_recursive, null);
  });
});

describe('/proc parsing', () => {
  it('sums the host CPU time of /proc/stat in ns and counts the online CPUs', () => {
    const text = 'cpu  315007 10 229092 1871716 7246 0 7840 5 0 0\ncpu0 154316 0 111282 944975 1148 0 3418 0 0 0\ncpu1 160691 0 117810 926740 6097 0 4421 0 0 0\nintr 8297997 0 0\nctxt 1\n';
    // user..softirq (7 fields; steal and guests are not counted, as Docker does)
    assert.deepEqual(parseProcStat(text), { systemUsage: (315007 + 10 + 229092 + 1871716 + 7246 + 0 + 7840) * 1e7, onlineCpus: 2 });
    const real = parseProcStat(readFileSync('/proc/stat', 'utf8'));
    assert.ok(real.onlineCpus >= 1 && real.systemUsage > 0);
  });

  it('reads interface counters of /proc/<pid>/net/dev without lo', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 4386033062  399498    0    0    0     0          0         0 4386033062  399498    0    0    0     0       0          0
  eth0: 485287837   19796    1    2    0     0          0         0  1487607   13979    3    4    0     0       0          0
`;
    assert.deepEqual(parseNetDev(text), {
      eth0: { rx_bytes: 485287837, rx_packets: 19796, rx_errors: 1, rx_dropped: 2, tx_bytes: 1487607, tx_packets: 13979, tx_errors: 3, tx_dropped: 4 },
    });
  });

  it('parses blkio and io.stat lines, skipping totals', () => {
    assert.deepEqual(parseBlkioV1('8:0 Read 1\nTotal 1\n'), [{ major: 8, minor: 0, op: 'Read', value: 1 }]);
    assert.deepEqual(parseIoStatV2(''), []);
  });
});

describe('the samples the CLI reads', () => {
  it('give Docker its CPU % from the deltas to the previous sample, and memory without inactive file pages', () => {
    const prev = emptyStats('a'.repeat(64), 'web');
    prev.read = '2025-01-01T00:00:00Z';
    prev.cpu_stats = { cpu_usage: { total_usage: 1e9, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: 100e9, online_cpus: 2, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
    const cur: DockerStats = {
      ...prev,
      read: '2025-01-01T00:00:01Z',
      preread: prev.read,
      precpu_stats: prev.cpu_stats,
      // 0.5 s of container CPU over 2 s of host CPU time (1 s wall on 2 CPUs): half a CPU
      cpu_stats: { ...prev.cpu_stats, cpu_usage: { ...prev.cpu_stats.cpu_usage, total_usage: 1.5e9 }, system_cpu_usage: 102e9 },
      memory_stats: { usage: 20971520, limit: 67108864, stats: { total_inactive_file: 4194304 } },
    };
    assert.equal(cliCpuPercent(cur), 50);
    assert.equal(cliMemUsage(cur), 16777216);
  });

  it('answer a stopped container with its id and slashed name, every counter zero', () => {
    const s = emptyStats('b'.repeat(64), 'web');
    assert.equal(s.name, '/web');
    assert.equal(s.read, '0001-01-01T00:00:00Z');
    assert.deepEqual(s.precpu_stats.cpu_usage, { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 });
    assert.equal(cliCpuPercent(s), 0);
  });
});

// A real process in real cgroup v1 directories made for the test (and removed after).
const canCgroupV1 = process.getuid?.() === 0 && cgroupVersion() === 1 && ['memory', 'cpu', 'cpuacct', 'pids'].every((c) => existsSync(`/sys/fs/cgroup/${c}/cgroup.procs`));

describe('a real process in a cgroup v1', { skip: !canCgroupV1 && 'needs root on a cgroup v1 host' }, () => {
  const name = `berth-test-${Math.random().toString(16).slice(2, 10)}`;
  const controllers = ['memory', 'cpu', 'cpuacct', 'pids'];
  const dirs = controllers.map((c) => `/sys/fs/cgroup/${c}/${name}`);
  const children: Array<ReturnType<typeof spawn>> = [];

  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    // a cgroup dir goes once its last task has; the kernel may take a moment to notice
    for (const dir of dirs) {
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try {
          rmdirSync(dir);
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  });

  it('finds the cgroups from the pid and samples CPU, memory, pids and networks', async () => {
    for (const dir of dirs) mkdirSync(dir);
    writeFileSync(`/sys/fs/cgroup/memory/${name}/memory.limit_in_bytes`, String(256 * 1024 * 1024));
    writeFileSync(`/sys/fs/cgroup/pids/${name}/pids.max`, '50');
    // a busy loop for about a second of CPU, then sleep; it starts stopped so it's moved before it runs
    const child = spawn('/bin/sh', ['-c', 'kill -STOP $$; end=$(($(date +%s)+2)); while [ $(date +%s) -lt $end ]; do :; done; exec sleep 60'], { stdio: 'ignore' });
    children.push(child);
    const pid = child.pid!;
    await new Promise((r) => setTimeout(r, 100));
    for (const dir of dirs) writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    process.kill(pid, 'SIGCONT');

    const cg = await containerCgroups(pid);
    assert.equal(cg.version, 1);
    for (const c of controllers) assert.equal(cg.paths[c], `/sys/fs/cgroup/${c}/${name}`);

    const first = await readStats(pid, undefined, { id: 'c'.repeat(64), name: 'real' });
    await new Promise((r) => setTimeout(r, 1000));
    const second = await readStats(pid, first, { id: 'c'.repeat(64), name: 'real' });

    assert.equal(first.precpu_stats.cpu_usage.total_usage, 0, 'a first sample has no previous one');
    assert.equal(first.preread, '0001-01-01T00:00:00Z');
    assert.deepEqual(second.precpu_stats, first.cpu_stats);
    assert.equal(second.preread, first.read);
    assert.ok(second.cpu_stats.cpu_usage.total_usage > first.cpu_stats.cpu_usage.total_usage);
    assert.equal(second.cpu_stats.cpu_usage.percpu_usage?.length, second.cpu_stats.online_cpus);
    const cpu = cliCpuPercent(second);
    // one busy shell on an otherwise idle-ish host: about one CPU's worth, i.e. ~100 %
    assert.ok(cpu > 40 && cpu <= 100 * second.cpu_stats.online_cpus! + 1, `CPU ${cpu.toFixed(1)} %`);
    assert.equal(second.memory_stats.limit, 256 * 1024 * 1024);
    assert.ok((second.memory_stats.usage ?? 0) > 0);
    assert.ok(cliMemUsage(second) > 0 && cliMemUsage(second) <= second.memory_stats.usage!);
    assert.ok('total_inactive_file' in (second.memory_stats.stats ?? {}));
    assert.equal(second.pids_stats.limit, 50);
    assert.ok((second.pids_stats.current ?? 0) >= 1);
    assert.equal(second.name, '/real');
    // our own network namespace: the host's interfaces, never lo
    assert.equal(second.networks?.['lo'], undefined);

    // the busy loop forks `date` now and then: compare once only the final `sleep` is left
    for (let i = 0; i < 200 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await cgroupPids(pid), await cgroupDirPids(`/sys/fs/cgroup/pids/${name}`));
    assert.deepEqual(await cgroupPids(pid), [pid]);
    const sample = JSON.parse(JSON.stringify(second)) as DockerStats;
    assert.deepEqual(sample, second, 'a sample survives JSON unchanged');
  });

  it('says the process is gone once it has exited', async () => {
    const child = spawn('/bin/true');
    await once(child, 'exit');
    await assert.rejects(readStats(child.pid!), /not running/);
  });
});
