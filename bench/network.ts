// bench/network: what networking costs. `docker run --rm busybox true` on a user-defined network
// (netns + netavark setup/teardown + aardvark-dns) and on the default bridge, against
// `--network none` in the same run (medians, as ratios and added milliseconds); then
// `docker-compose up -d` and `down` of a 5-service project (one network, one volume, a
// published port; every service runs under an init, so a stop is not Docker's 10 s wait on a PID 1
// that ignores SIGTERM).
// Run by hand after `npm run build`: npx tsx bench/network.ts [rounds]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const rounds = Number(process.argv[2] ?? 11);
const PORT = 5392;
const repo = fileURLToPath(new URL('..', import.meta.url));
const berth = join(repo, 'dist/berth.cjs');
const registrySh = join(repo, '../shared/fixtures/registry.sh');
const docker = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p))!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const R = `127.0.0.1:${PORT}/library`;
const IMAGE = `${R}/busybox:latest`;

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-network-'));
const regEnv = { ...process.env, BERTH_FIXTURE_STATE: join(dir, 'registry') };
const children: ChildProcess[] = [];
let cleanup = () => {};

function timed(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function composeProject(): string {
  const workers = [1, 2, 3, 4].map((i) => `  worker${i}:\n    image: ${IMAGE}\n    command: ["sleep", "1000"]\n    init: true\n    depends_on: [web]\n`).join('');
  return `version: "3.7"\nservices:\n  web:\n    image: ${R}/web:latest\n    init: true\n    ports: ["80"]\n    volumes: ["data:/data"]\n${workers}volumes:\n  data: {}\n`;
}

async function main(): Promise<void> {
  execFileSync(registrySh, ['start', String(PORT)], { env: regEnv, stdio: 'ignore' });
  const sock = join(dir, 'berth.sock');
  const serve = spawn(process.execPath, [berth, 'serve', '--listen', `unix://${sock}`, '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--time', '0', '--log-level', 'warn'], { stdio: 'ignore' });
  children.push(serve);
  for (let i = 0; i < 200 && !existsSync(sock); i++) await sleep(25);
  const env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: dir };
  const d = (...args: string[]) => execFileSync(docker, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  d('pull', '-q', IMAGE);
  d('pull', '-q', `${R}/web:latest`);
  d('network', 'create', 'benchnet');

  const none: number[] = [];
  const bridge: number[] = [];
  const user: number[] = [];
  d('run', '--rm', '--network', 'benchnet', IMAGE, 'true'); // the first run on a network makes its bridge
  for (let i = 0; i < rounds; i++) {
    none.push(timed(() => d('run', '--rm', '--network', 'none', IMAGE, 'true')));
    bridge.push(timed(() => d('run', '--rm', IMAGE, 'true')));
    user.push(timed(() => d('run', '--rm', '--network', 'benchnet', IMAGE, 'true')));
  }
  d('network', 'rm', 'benchnet');

  const project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'docker-compose.yml'), composeProject());
  const compose = (...args: string[]) => execFileSync('docker-compose', ['-p', 'bench', ...args], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup = () => {
    try {
      compose('down', '-v');
    } catch {
      /* already down */
    }
  };
  const ups: number[] = [];
  const downs: number[] = [];
  for (let i = 0; i < Math.min(rounds, 5); i++) {
    ups.push(timed(() => compose('up', '-d')));
    downs.push(timed(() => compose('down', '-v')));
  }

  const n = median(none);
  const br = median(bridge);
  const u = median(user);
  console.log(`rounds: ${rounds}`);
  console.log(`docker run --rm --network none:     ${n.toFixed(1)} ms`);
  console.log(`docker run --rm (default bridge):   ${br.toFixed(1)} ms   +${(br - n).toFixed(1)} ms, ratio ${(br / n).toFixed(2)}x`);
  console.log(`docker run --rm --network benchnet: ${u.toFixed(1)} ms   +${(u - n).toFixed(1)} ms, ratio ${(u / n).toFixed(2)}x`);
  console.log(`docker-compose up -d, 5 services:   ${median(ups).toFixed(0)} ms`);
  console.log(`docker-compose down -v:             ${median(downs).toFixed(0)} ms`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    cleanup();
    for (const c of children) c.kill('SIGTERM');
    execFileSync(registrySh, ['stop', String(PORT)], { env: regEnv, stdio: 'ignore' });
    setTimeout(() => rmSync(dir, { recursive: true, force: true }), 500);
  });
