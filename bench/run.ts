// bench/run: `docker run --rm busybox true` through berth, warm (service running) and cold
// (socket-activated: every run starts the service), against the floor — `runc run` of the same
// bundle (berth's own generated spec, a plain rootfs dir) — in the same run; medians, as ratios.
// Also: the RSS a running container adds (its conmon), the RSS of berth while serving, and
// `docker logs` of 200k lines.
// Run by hand after `npm run build`: npx tsx bench/run.ts [rounds]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const rounds = Number(process.argv[2] ?? 15);
const PORT = 5391;
const repo = fileURLToPath(new URL('..', import.meta.url));
const berth = join(repo, 'dist/berth.cjs');
const registrySh = join(repo, '../shared/fixtures/registry.sh');
const socketActivate = join(repo, '../shared/tools/socket-activate');
const docker = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p))!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const IMAGE = `127.0.0.1:${PORT}/library/busybox:latest`;

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-run-'));
const regEnv = { ...process.env, BERTH_FIXTURE_STATE: join(dir, 'registry') };
const children: ChildProcess[] = [];

function timed(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function main(): Promise<void> {
  execFileSync(registrySh, ['start', String(PORT)], { env: regEnv, stdio: 'ignore' });

  // warm: one service that stays up
  const warm = join(dir, 'warm');
  const sock = join(warm, 'berth.sock');
  const serve = spawn(process.execPath, [berth, 'serve', '--listen', `unix://${sock}`, '--root', join(warm, 'root'), '--runroot', join(warm, 'run'), '--time', '0', '--log-level', 'warn'], { stdio: 'ignore' });
  children.push(serve);
  for (let i = 0; i < 200 && !existsSync(sock); i++) await sleep(25);
  const env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: warm };
  const d = (...args: string[]) => execFileSync(docker, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 }).toString();
  d('pull', '-q', IMAGE);

  // the floor's bundle: berth's spec for this container, a copy of its rootfs as a plain dir
  const id = d('create', IMAGE, 'true').trim();
  d('start', id);
  d('wait', id);
  const bundle = join(dir, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  execFileSync('sh', ['-c', `"${docker}" export ${id} | tar -x -C ${join(bundle, 'rootfs')}`], { env });
  const spec = JSON.parse(readFileSync(join(warm, 'run', 'containers', id, 'config.json'), 'utf8')) as Record<string, any>;
  // berth's generated files live in its store: the floor gets copies of its own
  for (const m of spec.mounts as Array<{ source: string; destination: string }>) {
    if (m.source.startsWith(warm)) {
      const copy = join(bundle, m.destination.replace(/\//g, '_'));
      cpSync(m.source, copy);
      m.source = copy;
    }
  }
  spec.root = { path: join(bundle, 'rootfs'), readonly: false };
  // the container's netns went with it: the floor gets a new, empty one (as --network none)
  for (const ns of spec.linux.namespaces as Array<{ type: string; path?: string }>) if (ns.type === 'network') delete ns.path;
  spec.linux.cgroupsPath = '/berth-bench/floor';
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  d('rm', id);

  const runcRoot = join(dir, 'runc');
  const floor: number[] = [];
  const warmRuns: number[] = [];
  const warmNone: number[] = [];
  for (let i = 0; i < rounds; i++) {
    floor.push(timed(() => execFileSync('runc', ['--root', runcRoot, 'run', '-b', bundle, `floor${i}`], { stdio: 'ignore' })));
    warmRuns.push(timed(() => d('run', '--rm', IMAGE, 'true')));
    warmNone.push(timed(() => d('run', '--rm', '--network', 'none', IMAGE, 'true')));
  }

  // cold: socket-activated, the service exits after 0.2 s idle; each run waits for that exit
  const cold = join(dir, 'cold');
  mkdirSync(cold, { recursive: true });
  const csock = join(cold, 'berth.sock');
  const log = join(cold, 'activations.log');
  const act = spawn('python3', [socketActivate, '--log', log, csock, '--', process.execPath, berth, 'serve', '--time', '0.2', '--root', join(cold, 'root'), '--runroot', join(cold, 'run'), '--log-level', 'warn'], { stdio: 'ignore' });
  children.push(act);
  for (let i = 0; i < 200 && !existsSync(csock); i++) await sleep(25);
  const cenv = { ...process.env, DOCKER_HOST: `unix://${csock}`, DOCKER_CONFIG: cold };
  const cd = (...args: string[]) => execFileSync(docker, args, { env: cenv, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  cd('pull', '-q', IMAGE);
  const exits = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => / exit pid=/.test(l)).length : 0);
  const coldRuns: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const before = exits();
    for (let w = 0; w < 400 && exits() === before; w++) await sleep(10); // the service is gone
    await sleep(20);
    coldRuns.push(timed(() => cd('run', '--rm', IMAGE, 'true')));
  }

  // memory: what 5 running containers add (their conmons), and berth itself while serving
  const ids = Array.from({ length: 5 }, () => d('run', '-d', IMAGE, 'sleep', '1000').trim());
  const conmonKiB = ids.map((c) => {
    const rec = JSON.parse(readFileSync(join(warm, 'root', 'containers', c, 'container.json'), 'utf8')) as { State: { ConmonPid: number } };
    return rssKiB(rec.State.ConmonPid);
  });
  d('ps');
  const serveKiB = rssKiB(serve.pid!);
  d('rm', '-f', ...ids);

  // docker logs of 200k lines
  const lid = d('run', '-d', IMAGE, 'seq', '200000').trim();
  d('wait', lid);
  const logs: number[] = [];
  for (let i = 0; i < 5; i++) logs.push(timed(() => d('logs', lid)));
  const lines = d('logs', lid).split('\n').length - 1;
  d('rm', lid);

  const f = median(floor);
  const w = median(warmRuns);
  const n = median(warmNone);
  const c = median(coldRuns);
  console.log(`rounds: ${rounds}`);
  console.log(`runc run (floor):                 ${f.toFixed(1)} ms`);
  console.log(`docker run --rm, warm:            ${w.toFixed(1)} ms   ratio ${(w / f).toFixed(2)}x the floor (goal <= 4)`);
  console.log(`  the same, --network none:        ${n.toFixed(1)} ms   ratio ${(n / f).toFixed(2)}x the floor (the floor has no network either)`);
  console.log(`docker run --rm, cold (activated): ${c.toFixed(1)} ms   ratio ${(c / f).toFixed(2)}x the floor`);
  console.log(`conmon RSS per running container: ${(median(conmonKiB) / 1024).toFixed(1)} MiB`);
  console.log(`berth serve RSS while serving:    ${(serveKiB / 1024).toFixed(1)} MiB`);
  console.log(`docker logs, ${lines} lines:        ${median(logs).toFixed(0)} ms`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill('SIGTERM');
    execFileSync(registrySh, ['stop', String(PORT)], { env: regEnv, stdio: 'ignore' });
    setTimeout(() => {
      for (const r of readdirSync(join(dir, 'runc')).filter(Boolean)) execFileSync('runc', ['--root', join(dir, 'runc'), 'delete', '-f', r], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    }, 500);
  });
