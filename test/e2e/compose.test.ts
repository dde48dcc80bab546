// A real docker-compose project on berth: docker-compose 1.29 (Debian's package, driving berth
// through docker-py) brings up a web service with a published port and a named volume and a
// client that reaches it by service name, and takes it all down again, leaving nothing behind.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startBerth, tempDir, waitFor, type Berth } from '../helpers/berth.ts';
import { dockerFor, removeAllContainers, startRegistries } from '../helpers/fixtures.ts';

const exec = promisify(execFile);
const PORT = 5373;
const R = `127.0.0.1:${PORT}/library`;
const PROJECT = 'berthe2e';

let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let registries: { stop(): void };
let projectDir: string;

const project = `
version: "3.7"
services:
  web:
    image: ${R}/web:latest
    ports:
      - "80"
    environment:
      GREETING: hello from compose
    volumes:
      - webdata:/data
  client:
    image: ${R}/busybox:latest
    command: ["sh", "-c", "while true; do sleep 1; done"]
    depends_on:
      - web
volumes:
  webdata: {}
`;

/** docker-compose in the project's dir against this berth. */
async function compose(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec('docker-compose', ['-p', PROJECT, ...args], {
    cwd: projectDir,
    // compose's default: `run` and `exec` go through the docker CLI (found on PATH)
    env: { ...process.env, DOCKER_HOST: `unix://${b.sock}`, DOCKER_CONFIG: b.dir },
    maxBuffer: 16 << 20,
  });
}

const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);
const projectFilter = `label=com.docker.compose.project=${PROJECT}`;

async function state(service: string): Promise<string> {
  const ids = lines((await docker('ps', '-aq', '--filter', projectFilter, '--filter', `label=com.docker.compose.service=${service}`)).stdout);
  assert.equal(ids.length, 1, `one ${service} container`);
  return (await docker('inspect', '-f', '{{.State.Status}} {{.State.StartedAt}}', ids[0]!)).stdout.trim();
}

async function webPort(): Promise<number> {
  // `docker-compose port` reads NetworkSettings.Ports: the ephemeral port berth chose
  const { stdout } = await compose('port', 'web', '80');
  const port = Number(/:(\d+)\s*$/.exec(stdout.trim())?.[1]);
  assert.ok(port > 0, `a host port for web:80 (${stdout})`);
  return port;
}

async function fetchText(url: string): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      const res = await fetch(url);
      return await res.text();
    } catch (err) {
      last = err; // the server in the container may not listen yet
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw last;
}

before(async () => {
  registries = startRegistries([['start', PORT]]);
  b = await startBerth();
  docker = dockerFor(b);
  projectDir = tempDir('berth-compose-');
  writeFileSync(join(projectDir, 'docker-compose.yml'), project);
});
after(async () => {
  if (b) await compose('down', '-v', '--remove-orphans').catch(() => {});
  if (docker) await removeAllContainers(docker).catch(() => {});
  await b?.stop();
  registries?.stop();
});

describe('docker-compose 1.29', () => {
  it('up -d pulls, creates the network and volume, starts both services in order', async () => {
    const { stderr } = await compose('up', '-d');
    assert.match(stderr, new RegExp(`Creating network "${PROJECT}_default"`));
    assert.match(stderr, new RegExp(`Creating volume "${PROJECT}_webdata"`));
    assert.match(await state('web'), /^running /);
    assert.match(await state('client'), /^running /);
    const ps = (await compose('ps')).stdout;
    assert.match(ps, new RegExp(`${PROJECT}_web_1 .* Up .*->80/tcp`));
    assert.match(ps, new RegExp(`${PROJECT}_client_1 .* Up`));
    assert.deepEqual(lines((await docker('network', 'ls', '--format', '{{.Name}}', '--filter', `name=${PROJECT}`)).stdout), [`${PROJECT}_default`]);
    assert.deepEqual(lines((await docker('volume', 'ls', '-q', '--filter', `name=${PROJECT}`)).stdout), [`${PROJECT}_webdata`]);
  });

  it('publishes the web port to the host', async () => {
    assert.equal(await fetchText(`http://127.0.0.1:${await webPort()}/index.html`), 'berth fixture web: OK\n');
  });

  it('lets the client reach the web service by its service name', async () => {
    const { stdout } = await compose('exec', '-T', 'client', 'wget', '-qO-', 'http://web/hello.txt');
    assert.equal(stdout, 'hello from the berth fixture web image\n');
  });

  it('passes the environment, and shows the services logs', async () => {
    const { stdout } = await compose('exec', '-T', 'web', 'sh', '-c', 'echo "$GREETING"');
    assert.equal(stdout, 'hello from compose\n');
    const logs = (await compose('logs', '--no-color', 'web')).stdout;
    assert.match(logs, /web_1 +\| web: listening on :80/);
  });

  it('run --rm makes a one-off container on the project network and removes it', async () => {
    const { stdout } = await compose('run', '--rm', '-T', 'client', 'wget', '-qO-', 'http://web/index.html');
    assert.equal(stdout, 'berth fixture web: OK\n');
    const oneOffs = lines((await docker('ps', '-aq', '--filter', projectFilter, '--filter', 'label=com.docker.compose.oneoff=True')).stdout);
    assert.deepEqual(oneOffs, [], 'the one-off container is gone');
  });

  it('restart, stop and start act on the services', async () => {
    const before = await state('web');
    await compose('restart', 'web');
    const restarted = await state('web');
    assert.match(restarted, /^running /);
    assert.notEqual(restarted, before, 'a new StartedAt');
    await compose('stop');
    assert.match(await state('web'), /^exited /);
    assert.match(await state('client'), /^exited /);
    await compose('start');
    assert.match(await state('web'), /^running /);
    assert.match(await state('client'), /^running /);
    // the web service answers again, through a port published anew
    assert.equal(await fetchText(`http://127.0.0.1:${await webPort()}/index.html`), 'berth fixture web: OK\n');
  });

  it("keeps the named volume's data across down and up", async () => {
    await compose('exec', '-T', 'web', 'sh', '-c', 'echo kept > /data/mark');
    await compose('down');
    assert.deepEqual(lines((await docker('ps', '-aq', '--filter', projectFilter)).stdout), [], 'down removed the containers');
    await compose('up', '-d');
    const { stdout } = await compose('exec', '-T', 'web', 'cat', '/data/mark');
    assert.equal(stdout, 'kept\n');
  });

  it('down -v leaves no container, network or volume of the project', async () => {
    await compose('down', '-v');
    await waitFor(async () => lines((await docker('ps', '-aq', '--filter', projectFilter)).stdout).length === 0, 10_000, 'containers gone');
    assert.deepEqual(lines((await docker('network', 'ls', '-q', '--filter', `name=${PROJECT}`)).stdout), []);
    assert.deepEqual(lines((await docker('volume', 'ls', '-q', '--filter', `name=${PROJECT}`)).stdout), []);
  });
});
