// The shared fixtures: the images (../shared/fixtures/images.json), the registries that serve
// them (registry.sh, on a suite's own ports and state dir), and the clients tests drive.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, tempDir, type Berth } from './berth.ts';

export const fixturesDir = join(repoRoot, '..', 'shared', 'fixtures');
const registrySh = join(fixturesDir, 'registry.sh');

export interface FixtureImage {
  ref: string;
  registry: string;
  registries: string;
  mediaType: string;
  digest: string;
  imageId?: string;
  platform?: string;
  layers?: Array<{ digest: string; size: number; diffId: string }>;
  config?: Record<string, unknown>;
}

export const fixtureImages: FixtureImage[] = (JSON.parse(readFileSync(join(fixturesDir, 'images.json'), 'utf8')) as { images: FixtureImage[] }).images;

export function fixture(ref: string): FixtureImage {
  const f = fixtureImages.find((i) => i.ref === ref);
  if (!f) throw new Error(`no fixture ${ref}`);
  return f;
}

export type RegistryKind = 'start' | 'start-auth' | 'start-token';

/** Registries on this suite's ports, in a state dir of its own; `stop()` ends them. */
export function startRegistries(wanted: Array<[RegistryKind, number]>): { stop(): void } {
  const state = tempDir('berth-registry-');
  const env = { ...process.env, BERTH_FIXTURE_STATE: state };
  for (const [kind, port] of wanted) execFileSync(registrySh, [kind, String(port)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    stop() {
      for (const [, port] of wanted) execFileSync(registrySh, ['stop', String(port)], { env, stdio: 'ignore' });
      rmSync(state, { recursive: true, force: true });
    },
  };
}

const exec = promisify(execFile);
export const dockerCli = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p));
/** Debian's python3-docker lives in the system python, whatever python3 is first on PATH. */
export const systemPython = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** The docker CLI against this berth, with a config dir of its own (logins stay in the test). */
export function dockerFor(b: Berth) {
  return (...args: string[]) => exec(dockerCli!, args, { env: { ...process.env, DOCKER_HOST: `unix://${b.sock}`, DOCKER_CONFIG: b.dir }, maxBuffer: 64 << 20 });
}

/** A docker-py script against this berth; `client` is docker.DockerClient on its socket. */
export function dockerPyFor(b: Berth) {
  return (script: string) =>
    exec(systemPython, ['-c', `import docker, json, sys\nclient = docker.DockerClient(base_url='unix://${b.sock}')\n${script}`], { maxBuffer: 64 << 20 });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The docker CLI against this berth, giving back its exit code and output whether it failed or not. */
export function dockerResultFor(b: Berth) {
  const docker = dockerFor(b);
  return async (...args: string[]): Promise<CliResult> => {
    try {
      const { stdout, stderr } = await docker(...args);
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
}

/** A shell command line with the CLI against this berth (pipes, a terminal through `script`); `$DOCKER` is the CLI. */
export function shellFor(b: Berth) {
  return (line: string) => exec('sh', ['-c', line], { env: { ...process.env, DOCKER_HOST: `unix://${b.sock}`, DOCKER_CONFIG: b.dir, DOCKER: dockerCli! }, maxBuffer: 64 << 20 });
}

/** Removes every container of this berth (a suite's after(), so no mount or conmon outlives it). */
export async function removeAllContainers(docker: ReturnType<typeof dockerFor>): Promise<void> {
  const ids = (await docker('ps', '-aq')).stdout.split('\n').filter(Boolean);
  if (ids.length) await docker('rm', '-f', ...ids);
}
