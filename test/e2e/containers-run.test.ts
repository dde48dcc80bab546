// Containers through the real docker CLI and docker-py: run (pulling on first use), exit codes,
// stdin, a TTY, detached containers and their lifecycle, restart policies, and the property
// that justifies berth: containers outlive the service, even a SIGKILLed one.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lutimesSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';
import { after, before, describe, it } from 'node:test';
import { berthBin, socketActivate, startBerth, tempDir, waitFor, type Berth } from '../helpers/berth.ts';
import { dockerCli, dockerFor, dockerResultFor, dockerPyFor, startRegistries, removeAllContainers, shellFor } from '../helpers/fixtures.ts';

const exec = promisify(execFile);
const PORT = 5380;
const R = `127.0.0.1:${PORT}/library`;
const BUSYBOX = `${R}/busybox:latest`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let run: ReturnType<typeof dockerResultFor>;
let sh: ReturnType<typeof shellFor>;
let registries: { stop(): void };

const inspect = async (name: string, format: string) => (await docker('inspect', '-f', format, name)).stdout.trim();

before(async () => {
  registries = startRegistries([['start', PORT]]);
  b = await startBerth();
  docker = dockerFor(b);
  run = dockerResultFor(b);
  sh = shellFor(b);
  await docker('pull', '-q', BUSYBOX);
});
after(async () => {
  if (docker) await removeAllContainers(docker).catch(() => {});
  await b?.stop();
  registries?.stop();
});

describe('docker run', () => {
  it('pulls a missing image, runs it, and gives back the exit code and both streams', async () => {
    const r = await run('run', '--rm', `${R}/busybox-oci:latest`, 'sh', '-c', 'echo out; echo err >&2; exit 3');
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.match(r.stderr, /err\n/);
    assert.match(r.stderr, /Unable to find image/);
    assert.equal((await docker('ps', '-aq')).stdout.trim(), '', '--rm removed it');
  });

  it('feeds stdin through, and closes it when the client is done', async () => {
    const { stdout } = await sh(`printf 'hi\\nthere\\n' | "$DOCKER" run -i --rm ${BUSYBOX} sh -c 'cat; echo done'`);
    assert.equal(stdout, 'hi\nthere\ndone\n');
  });

  it('gives -it a terminal of the client terminal size', async () => {
    const { stdout } = await sh(`script -qec 'stty cols 97 rows 31; "$DOCKER" run -it --rm ${BUSYBOX} sh -c "tty; stty size"' /dev/null`);
    assert.match(stdout, /\/dev\/pts\/\d+/);
    assert.match(stdout, /31 97/);
  });

  it('reports a missing executable as Docker does (exit 127)', async () => {
    const r = await run('run', '--rm', BUSYBOX, 'nonexistent-program');
    assert.equal(r.code, 127);
    assert.match(r.stderr, /executable file not found/);
    assert.equal((await docker('ps', '-aq')).stdout.trim(), '', 'a --rm container that could not start is gone');
  });

  it('runs the multi-layer fixture, whose /check.sh checks 62 layer semantics', async () => {
    const r = await run('run', '--rm', `${R}/layers:latest`, '/check.sh');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /OK/);
  });

  it('honours create options: user, workdir, env, hostname, extra hosts, dns, init, read-only, caps, memory, ulimits', async () => {
    const r = await run('run', '--rm', '-u', 'nobody', '-w', '/tmp/work', '-e', 'FOO=bar', '--hostname', 'box1', '--add-host', 'db:10.1.2.3',
      '--dns', '9.9.9.9', '--init', '--read-only', '--cap-drop', 'ALL', '--memory', '64m', '--ulimit', 'nofile=512:512', '--label', 'k=v',
      BUSYBOX, 'sh', '-c', 'id; pwd; echo $FOO; hostname; grep db /etc/hosts; grep ^nameserver /etc/resolv.conf; cat /proc/1/cmdline | tr "\\0" " "; echo; touch /x 2>&1 || true; grep CapEff /proc/self/status; ulimit -n; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^uid=65534\(nobody\) gid=65534\(nogroup\)/);
    assert.equal(lines[1], '/tmp/work');
    assert.equal(lines[2], 'bar');
    assert.equal(lines[3], 'box1');
    assert.match(lines[4]!, /^10\.1\.2\.3\s+db$/);
    assert.equal(lines[5], 'nameserver 9.9.9.9');
    assert.match(lines[6]!, /^\/run\/podman-init -- sh -c/, 'catatonit is pid 1');
    assert.match(r.stdout, /Read-only file system/);
    assert.match(r.stdout, /CapEff:\s+0000000000000000/);
    assert.match(r.stdout, /^512$/m);
    assert.match(r.stdout, /^67108864$/m);
  });

  it('refuses a taken name with Docker words, and names what is missing', async () => {
    await docker('create', '--name', 'taken', BUSYBOX, 'true');
    const r = await run('create', '--name', 'taken', BUSYBOX, 'true');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Conflict\. The container name "\/taken" is already in use by container "[0-9a-f]{64}"/);
    const missing = await run('inspect', 'no-such-container');
    assert.match(missing.stderr, /No such (object|container): no-such-container/);
    await docker('rm', 'taken');
  });
});

describe('detached containers', () => {
  it('lists, inspects, logs, renames, pauses, restarts and removes', async () => {
    const id = (await docker('run', '-d', '--name', 'web1', '--label', 'tier=front', BUSYBOX, 'sh', '-c', 'echo started; exec sleep 1000')).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    await docker('create', '--name', 'idle1', BUSYBOX, 'true');
    const ps = (await docker('ps', '--format', '{{.Names}} {{.State}}')).stdout;
    assert.match(ps, /^web1 running$/m);
    assert.doesNotMatch(ps, /idle1/, 'ps without -a shows running containers only');
    assert.match((await docker('ps', '-a', '--filter', 'status=created', '--format', '{{.Names}}')).stdout, /^idle1$/m);
    assert.equal((await docker('ps', '--filter', 'label=tier=front', '-q')).stdout.trim(), id.slice(0, 12));
    assert.equal(await inspect('web1', '{{.State.Running}} {{.Name}} {{.Config.Labels.tier}}'), 'true /web1 front');
    assert.ok(Number(await inspect('web1', '{{.State.Pid}}')) > 0);
    await waitFor(async () => (await docker('logs', 'web1')).stdout === 'started\n', 5000, 'log line');

    await docker('rename', 'web1', 'web2');
    assert.equal(await inspect(id, '{{.Name}}'), '/web2');
    await docker('pause', 'web2');
    assert.equal(await inspect('web2', '{{.State.Status}}'), 'paused');
    await docker('unpause', 'web2');
    assert.equal(await inspect('web2', '{{.State.Status}}'), 'running');

    const startedAt = await inspect('web2', '{{.State.StartedAt}}');
    await docker('restart', '-t', '1', 'web2');
    assert.equal(await inspect('web2', '{{.State.Status}}'), 'running');
    assert.notEqual(await inspect('web2', '{{.State.StartedAt}}'), startedAt);

    const rm = await run('rm', 'web2');
    assert.match(rm.stderr, /cannot remove container "\/web2": container is running/);
    await docker('rm', '-f', 'web2', 'idle1');
    assert.equal((await docker('ps', '-aq')).stdout.trim(), '');
  });

  it('stop sends the stop signal first: a trap handler gets SIGTERM and exits on its own', async () => {
    await docker('run', '-d', '--name', 'trap1', BUSYBOX, 'sh', '-c', 'trap "echo got TERM; exit 0" TERM; while true; do sleep 0.1; done');
    const t0 = Date.now();
    await docker('stop', 'trap1');
    assert.ok(Date.now() - t0 < 5000, 'no SIGKILL timeout needed');
    assert.equal(await inspect('trap1', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
    assert.match((await docker('logs', 'trap1')).stdout, /got TERM/);
    const again = await run('stop', 'trap1');
    assert.equal(again.code, 0, 'stopping a stopped container is fine (304)');
    await docker('rm', 'trap1');
  });

  it('kill -s delivers the signal; wait returns the exit code', async () => {
    await docker('run', '-d', '--name', 'sig1', BUSYBOX, 'sh', '-c', 'trap "exit 42" USR1; while true; do sleep 0.1; done');
    await sleep(300);
    await docker('kill', '-s', 'USR1', 'sig1');
    assert.equal((await docker('wait', 'sig1')).stdout.trim(), '42');
    const k = await run('kill', 'sig1');
    assert.match(k.stderr, /is not running/);
    await docker('rm', 'sig1');
  });

  it('attach sees output of a running container and its exit', async () => {
    await docker('run', '-d', '--name', 'att1', BUSYBOX, 'sh', '-c', 'sleep 1; echo from-attach; exit 5');
    const r = await run('attach', 'att1');
    assert.equal(r.code, 5);
    assert.match(r.stdout, /from-attach/);
    await docker('rm', 'att1');
  });

  it('start -a streams every run of a stopped container, not only the first', async () => {
    await docker('create', '--name', 'again', BUSYBOX, 'sh', '-c', 'echo run; echo oops >&2; exit 3');
    for (let i = 0; i < 3; i++) {
      const r = await run('start', '-a', 'again');
      assert.deepEqual([r.code, r.stdout, r.stderr], [3, 'run\n', 'oops\n'], `run ${i + 1}`);
    }
    assert.match((await docker('ps', '-a', '--filter', 'name=again', '--format', '{{.Status}}')).stdout, /^Exited \(3\)/);
    await docker('rm', 'again');
  });

  it('container prune removes stopped containers only', async () => {
    await docker('run', '-d', '--name', 'keep1', BUSYBOX, 'sleep', '1000');
    await docker('run', '--name', 'gone1', BUSYBOX, 'true');
    const out = (await docker('container', 'prune', '-f')).stdout;
    assert.match(out, /Deleted Containers:/);
    const left = (await docker('ps', '-a', '--format', '{{.Names}}')).stdout;
    assert.match(left, /keep1/);
    assert.doesNotMatch(left, /gone1/);
    await docker('rm', '-f', 'keep1');
  });
});

describe('restart policies', () => {
  it('on-failure:2 restarts a failing container twice, then leaves it exited', async () => {
    await docker('run', '-d', '--name', 'fail2', '--restart', 'on-failure:2', BUSYBOX, 'sh', '-c', 'echo run; exit 1');
    await waitFor(async () => (await inspect('fail2', '{{.State.Status}} {{.RestartCount}}')) === 'exited 2', 15_000, 'two restarts');
    await sleep(800);
    assert.equal(await inspect('fail2', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}'), 'exited 2 1');
    assert.equal((await docker('logs', 'fail2')).stdout, 'run\nrun\nrun\n');
    await docker('rm', 'fail2');
  });

  it('always brings a container back after its process dies, until stopped', async () => {
    await docker('run', '-d', '--name', 'always1', '--restart', 'always', BUSYBOX, 'sh', '-c', 'sleep 0.5; exit 2');
    await waitFor(async () => Number(await inspect('always1', '{{.RestartCount}}')) >= 2, 15_000, 'restarts');
    await docker('stop', 'always1');
    const count = await inspect('always1', '{{.RestartCount}}');
    await sleep(1500);
    assert.equal(await inspect('always1', '{{.State.Status}}'), 'exited');
    assert.equal(await inspect('always1', '{{.RestartCount}}'), count, 'a stopped container stays stopped');
    await docker('rm', 'always1');
  });
});

describe('docker-py', () => {
  it('runs, lists, gets, logs, waits, stops and removes containers', async () => {
    const py = dockerPyFor(b);
    const { stdout } = await py(`
out = client.containers.run('${BUSYBOX}', ['sh', '-c', 'echo py-out'], remove=True)
c = client.containers.run('${BUSYBOX}', ['sh', '-c', 'echo hello; sleep 1000'], detach=True, name='py1')
import time
for _ in range(50):
    if c.logs() == b'hello\\n': break
    time.sleep(0.1)
names = [x.name for x in client.containers.list()]
got = client.containers.get('py1')
got.stop(timeout=1)
code = got.wait()['StatusCode']
logs = c.logs().decode()
got.remove()
print(json.dumps({'out': out.decode(), 'names': names, 'code': code, 'logs': logs}))
`);
    const r = JSON.parse(stdout) as { out: string; names: string[]; code: number; logs: string };
    assert.equal(r.out, 'py-out\n');
    // the attach socket, as docker-py hands it out (a multiplexed stream without a TTY)
    const att = await py(`
c = client.containers.create('${BUSYBOX}', ['sh', '-c', 'echo via-socket; echo oops >&2'])
s = c.attach_socket(params={'stdout': 1, 'stderr': 1, 'stream': 1})
c.start()
from docker.utils.socket import frames_iter
raw = s._sock if hasattr(s, '_sock') else s
out = [(k, v.decode()) for k, v in frames_iter(raw, tty=False)]
c.wait(); c.remove()
print(json.dumps(out))
`);
    // stdout and stderr are separate pipes: their relative order is not fixed
    assert.deepEqual((JSON.parse(att.stdout) as Array<[number, string]>).sort(), [[1, 'via-socket\n'], [2, 'oops\n']]);
    assert.ok(r.names.includes('py1'));
    assert.equal(r.code, 137);
    assert.equal(r.logs, 'hello\n');
  });
});

describe('attach over a websocket', () => {
  it('carries stdin in and stdout out, raw', async () => {
    await docker('run', '-d', '-i', '--name', 'ws1', BUSYBOX, 'sh', '-c', 'read line; echo got $line; echo err >&2');
    const ws = new WebSocket(`ws+unix://${b.sock}:/v1.50/containers/ws1/attach/ws?stdin=1&stdout=1&stderr=1&stream=1`);
    let got = '';
    ws.on('message', (d: Buffer) => (got += d.toString()));
    await once(ws, 'open');
    ws.send(Buffer.from('hello\n'));
    await once(ws, 'close');
    assert.equal(got, 'got hello\nerr\n');
    assert.equal((await docker('wait', 'ws1')).stdout.trim(), '0');
    await docker('rm', 'ws1');
  });
});

describe('containers outlive the service', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  it('keeps running through a SIGKILL of berth; a fresh activation sees, follows and stops them', async () => {
    const dir = tempDir();
    const sock = join(dir, 'berth.sock');
    const log = join(dir, 'activations.log');
    const root = join(dir, 'root');
    const runroot = join(dir, 'run');
    const proc: ChildProcess = spawn('python3', [socketActivate, '--log', log, sock, '--', process.execPath, berthBin, 'serve', '--time', '1', '--root', root, '--runroot', runroot, '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: dir };
    const d = (...args: string[]) => exec(dockerCli!, args, { env });
    cleanups.push(async () => {
      await removeAllContainers(d).catch(() => {});
      proc.kill('SIGTERM');
      await once(proc, 'exit');
      rmSync(dir, { recursive: true, force: true });
    });
    await waitFor(() => existsSync(sock), 10_000, 'socket-activate');
    await d('pull', '-q', BUSYBOX);
    for (const n of ['s1', 's2', 's3']) await d('run', '-d', '--name', n, BUSYBOX, 'sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done');
    await d('run', '-d', '--name', 'short', BUSYBOX, 'sh', '-c', 'sleep 2; exit 7');

    const pids = readFileSync(log, 'utf8').match(/start pid=(\d+)/g)!.map((m) => Number(m.split('=')[1]));
    process.kill(pids[pids.length - 1]!, 'SIGKILL');
    await sleep(3500); // past the idle time, and past `short`'s exit with no service running

    const ps = (await d('ps', '-a', '--format', '{{.Names}} {{.State}} {{.Status}}')).stdout;
    for (const n of ['s1', 's2', 's3']) assert.match(ps, new RegExp(`^${n} running`, 'm'));
    assert.match(ps, /^short exited Exited \(7\)/m, 'the exit recorded while no service ran');

    // logs -f goes on with new lines, and ends when the container stops
    const follow = exec(dockerCli!, ['logs', '-f', '--tail', '1', 's1'], { env });
    await sleep(1000);
    await d('stop', '-t', '1', 's1');
    const { stdout } = await follow;
    const ticks = stdout.trim().split('\n').map((l) => Number(l.replace('tick ', '')));
    assert.ok(ticks.length >= 3, `followed lines: ${stdout}`);
    for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i], ticks[i - 1]! + 1, 'no line lost or repeated');
    await d('stop', '-t', '1', 's2', 's3');
    const after = (await d('ps', '-a', '--format', '{{.Names}} {{.State}}')).stdout;
    assert.match(after, /^s2 exited$/m);
    assert.match(after, /^s3 exited$/m);
  });
});

describe('what a killed create leaves', () => {
  it('is swept when the service starts: a dir without a record, a name link to nothing', async () => {
    const dir = tempDir();
    const root = join(dir, 'root');
    const orphan = join(root, 'containers', 'a'.repeat(64));
    const link = join(root, 'containers', '.names', 'ghost');
    mkdirSync(join(orphan, 'upper'), { recursive: true });
    mkdirSync(join(root, 'containers', '.names'), { recursive: true });
    symlinkSync('b'.repeat(64), link);
    const past = new Date(Date.now() - 120_000);
    utimesSync(orphan, past, past);
    lutimesSync(link, past, past);
    const own = await startBerth({ dir });
    try {
      await waitFor(() => !existsSync(orphan) && !existsSync(link), 10_000, 'the sweep');
      await dockerFor(own)('pull', '-q', BUSYBOX);
      await dockerFor(own)('create', '--name', 'ghost', BUSYBOX, 'true');
    } finally {
      await dockerFor(own)('rm', 'ghost').catch(() => {});
      await own.stop();
    }
  });
});

describe('berth autostart (berth-restart.service at boot)', () => {
  it('after a simulated reboot, starts always and unless-stopped containers not stopped by hand', async () => {
    const own = await startBerth();
    const d = dockerFor(own);
    try {
      await d('pull', '-q', BUSYBOX);
      // no network: a test can't make the kernel forget a bridge's firewall rules as a reboot does
      for (const [name, policy] of [['a1', 'always'], ['u1', 'unless-stopped'], ['u2', 'unless-stopped'], ['n1', 'no']]) {
        await d('run', '-d', '--network', 'none', '--name', name!, '--restart', policy!, BUSYBOX, 'sleep', '1000');
      }
      await d('stop', '-t', '0', 'u2');
      // the reboot: the service, every conmon and container process, the mounts and the runroot go
      own.proc.kill('SIGKILL');
      await own.exited;
      for (const id of readdirSync(join(own.root, 'containers')).filter((n) => /^[0-9a-f]{64}$/.test(n))) {
        const rec = JSON.parse(readFileSync(join(own.root, 'containers', id, 'container.json'), 'utf8')) as { State: { Pid: number; ConmonPid: number } };
        for (const pid of [rec.State.ConmonPid, rec.State.Pid]) if (pid) try { process.kill(pid, 'SIGKILL'); } catch {}
        await exec('umount', ['-l', join(own.runroot, 'containers', id, 'rootfs')]).catch(() => {});
      }
      await sleep(300);
      rmSync(own.runroot, { recursive: true, force: true });

      const { stdout } = await exec(process.execPath, [berthBin, 'autostart', '--root', own.root, '--runroot', own.runroot]);
      assert.equal(stdout.trim().split('\n').length, 2, stdout);
      const again = await startBerth({ dir: own.dir });
      const d2 = dockerFor(again);
      const st = async (name: string) => (await d2('inspect', '-f', '{{.State.Status}}', name)).stdout.trim();
      assert.equal(await st('a1'), 'running');
      assert.equal(await st('u1'), 'running');
      assert.equal(await st('u2'), 'exited', 'stopped by hand before the reboot');
      assert.equal(await st('n1'), 'exited');
      await d2('rm', '-f', 'a1', 'u1', 'u2', 'n1');
      await again.stop();
    } finally {
      if (existsSync(own.dir)) await own.stop();
    }
  });
});
