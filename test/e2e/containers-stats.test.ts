// docker stats, top and update on real containers (runc under conmon), through the docker CLI
// and docker-py: the numbers the CLI shows, the processes ps sees in the container's cgroup,
// and limits that reach the cgroup of a running container and the record of a stopped one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { containerCgroups } from '../../src/engine/runtime/cgroups.ts';
import { startBerth, type Berth } from '../helpers/berth.ts';
import { dockerCli, dockerFor, dockerPyFor, startRegistries } from '../helpers/fixtures.ts';

const REGISTRY = 5370;
const R = `127.0.0.1:${REGISTRY}`;
const BUSYBOX = `${R}/library/busybox`;

let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let registries: { stop(): void } | undefined;

before(async () => {
  registries = startRegistries([['start', REGISTRY]]);
  b = await startBerth();
  docker = dockerFor(b);
  await docker('pull', BUSYBOX);
});

after(async () => {
  if (docker) await docker('rm', '-f', 'st-idle', 'st-busy').catch(() => undefined);
  await b?.stop();
  registries?.stop();
});

const fails = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error('expected a failure');
};
const inspect = async (name: string) => JSON.parse((await docker('inspect', name)).stdout)[0];
const statsRow = async (name: string) => JSON.parse((await docker('stats', '--no-stream', '--format', '{{json .}}', name)).stdout.trim());
const GiB = 1024 ** 3;

/** The memory limit the kernel holds for a running container. */
async function cgroupMemoryLimit(pid: number): Promise<number> {
  const cg = await containerCgroups(pid);
  const file = cg.version === 2 ? `${cg.paths['memory']}/memory.max` : `${cg.paths['memory']}/memory.limit_in_bytes`;
  return Number(readFileSync(file, 'utf8').trim());
}

describe('stats, top and update', { skip: dockerCli ? false : 'no docker CLI' }, () => {
  before(async () => {
    await docker('run', '-d', '--name', 'st-idle', BUSYBOX, 'sleep', '600');
    await docker('run', '-d', '--name', 'st-busy', BUSYBOX, 'sh', '-c', 'while :; do :; done');
  });

  it('docker stats --no-stream shows the container, its memory against the host memory, its pids', async () => {
    const row = await statsRow('st-idle');
    assert.equal(row.Name, 'st-idle');
    assert.equal(row.PIDs, '1');
    assert.match(row.CPUPerc, /^\d+\.\d\d%$/);
    const [used, limit] = (row.MemUsage as string).split(' / ');
    assert.match(used!, /^\d+(\.\d+)?(B|KiB|MiB)$/);
    // unlimited: the host's memory, as Docker shows it
    const hostGiB = Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024 / GiB;
    assert.ok(Math.abs(parseFloat(limit!) - hostGiB) < 0.02, `${limit} vs ${hostGiB.toFixed(2)}GiB`);
  });

  it('docker stats shows a busy loop at about one CPU', async () => {
    const row = await statsRow('st-busy');
    const cpu = parseFloat(row.CPUPerc);
    assert.ok(cpu > 50 && cpu < 110, row.CPUPerc);
  });

  it('the API streams a sample a second, the first without precpu_stats (docker-py)', async () => {
    const py = dockerPyFor(b);
    const { stdout } = await py(`
c = client.containers.get('st-idle')
gen = c.stats(decode=True, stream=True)
first, second = next(gen), next(gen)
once = c.stats(stream=False)
print(json.dumps([first['precpu_stats']['cpu_usage']['total_usage'], first['preread'], second['preread'] == first['read'],
  second['precpu_stats']['system_cpu_usage'] == first['cpu_stats']['system_cpu_usage'], once['precpu_stats'].get('system_cpu_usage', 0) > 0, once['name'], once['id'] == c.id]))
`);
    assert.deepEqual(JSON.parse(stdout), [0, '0001-01-01T00:00:00Z', true, true, true, '/st-idle', true]);
  });

  it('docker top lists the container processes, and only them', async () => {
    const out = (await docker('top', 'st-idle')).stdout.trim().split('\n');
    assert.match(out[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    assert.equal(out.length, 2, out.join('\n'));
    assert.match(out[1]!, /sleep 600$/);
    const custom = (await docker('top', 'st-idle', '-o', 'pid,comm')).stdout.trim().split('\n');
    assert.match(custom[1]!, /^\s*\d+\s+sleep$/);
  });

  it('docker top with arguments ps refuses fails with what ps said', async () => {
    assert.match(await fails(docker('top', 'st-idle', '--bogus')), /Error response from daemon: ps: error: unknown gnu long option/);
  });

  it('docker update --memory 64m reaches the cgroup of the running container and its record', async () => {
    const out = (await docker('update', '--memory', '64m', '--pids-limit', '50', 'st-idle')).stdout.trim();
    assert.equal(out, 'st-idle');
    const c = await inspect('st-idle');
    assert.equal(c.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(c.HostConfig.PidsLimit, 50);
    assert.equal(await cgroupMemoryLimit(c.State.Pid), 64 * 1024 * 1024);
    assert.match((await statsRow('st-idle')).MemUsage, / \/ 64MiB$/);
  });

  it('docker update refuses conflicting CPU limits with Docker\'s message', async () => {
    await docker('update', '--cpus', '0.5', 'st-busy');
    const err = await fails(docker('update', '--cpu-quota', '20000', 'st-busy'));
    assert.match(err, /Cannot update container [0-9a-f]{64}: Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set/);
    // the busy loop now gets half a CPU
    const cpu = parseFloat((await statsRow('st-busy')).CPUPerc);
    assert.ok(cpu > 25 && cpu < 65, `${cpu} %`);
  });

  it('a stopped container: zeros from stats, 409 from top, and update changes only the record', async () => {
    await docker('stop', '-t', '1', 'st-idle');
    const row = await statsRow('st-idle');
    assert.equal(row.MemUsage, '0B / 0B');
    assert.equal(row.PIDs, '0');
    const id = (await inspect('st-idle')).Id;
    assert.match(await fails(docker('top', 'st-idle')), new RegExp(`Container ${id} is not running`));
    await docker('update', '--memory', '128m', '--restart', 'on-failure:2', 'st-idle');
    const c = await inspect('st-idle');
    assert.equal(c.HostConfig.Memory, 128 * 1024 * 1024);
    assert.deepEqual(c.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
    // and the next start runs with it
    await docker('start', 'st-idle');
    assert.equal(await cgroupMemoryLimit((await inspect('st-idle')).State.Pid), 128 * 1024 * 1024);
  });

  it('a missing container is a 404 for all three', async () => {
    for (const args of [['stats', '--no-stream', 'st-nope'], ['top', 'st-nope'], ['update', '--memory', '64m', 'st-nope']]) {
      assert.match(await fails(docker(...args)), /No such container: st-nope/);
    }
  });
});
