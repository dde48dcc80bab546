// Real clients against a real berth: the docker CLI and docker-py see berth's server values.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startBerth, type Berth } from '../helpers/berth.ts';

const exec = promisify(execFile);
const dockerCli = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p));
// Debian's python3-docker lives in the system python, whatever python3 is first on PATH.
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let b: Berth;
before(async () => {
  b = await startBerth();
});
after(async () => {
  await b.stop();
});

function docker(...args: string[]) {
  return exec(dockerCli!, args, { env: { ...process.env, DOCKER_HOST: `unix://${b.sock}`, DOCKER_CONFIG: b.dir } });
}

describe('docker CLI', { skip: dockerCli ? false : 'no docker CLI installed' }, () => {
  it('docker version shows berth as the server', async () => {
    const { stdout } = await docker('version', '--format', '{{json .}}');
    const v = JSON.parse(stdout);
    assert.equal(v.Server.Platform.Name, `berth ${v.Server.Version}`);
    assert.equal(v.Server.ApiVersion, '1.51');
    assert.equal(v.Server.MinAPIVersion, '1.24');
    const names = v.Server.Components.map((c: { Name: string }) => c.Name);
    assert.deepEqual(names, ['Engine', 'runc', 'conmon']);
    // the client negotiated down to what both speak
    assert.ok(Number(v.Client.ApiVersion) <= 1.51);
  });

  it('docker version prints the server block as text', async () => {
    const { stdout } = await docker('version');
    assert.match(stdout, /Server: berth /);
    assert.match(stdout, /runc:\s+Version:\s+\S+/);
    assert.match(stdout, /conmon:\s+Version:\s+\S+/);
  });

  it('docker info shows berth\'s values', async () => {
    const { stdout } = await docker('info', '--format', '{{json .}}');
    const i = JSON.parse(stdout);
    assert.equal(i.Driver, 'overlay');
    assert.equal(i.DockerRootDir, b.root);
    assert.equal(i.Containers, 0);
    assert.equal(i.DefaultRuntime, 'runc');
    assert.equal(i.LiveRestoreEnabled, true);
    const text = (await docker('info')).stdout;
    assert.match(text, /Storage Driver: overlay/);
    assert.match(text, new RegExp(`Docker Root Dir: ${b.root}`));
  });

  it('docker system df lists nothing', async () => {
    const { stdout } = await docker('system', 'df', '--format', '{{.Type}} {{.TotalCount}}');
    assert.match(stdout, /Images 0/);
    assert.match(stdout, /Containers 0/);
    assert.match(stdout, /Local Volumes 0/);
  });

  it('an API version the server lacks is refused with Docker\'s message', async () => {
    await assert.rejects(
      exec(dockerCli!, ['version'], { env: { ...process.env, DOCKER_HOST: `unix://${b.sock}`, DOCKER_API_VERSION: '1.99', DOCKER_CONFIG: b.dir } }),
      (e: { stderr: string }) => /too new|Maximum supported API version is 1\.51/.test(e.stderr),
    );
  });
});

describe('docker-py', () => {
  it('version() and info() read berth', async () => {
    const script = `
import docker, json, sys
c = docker.DockerClient(base_url='unix://' + sys.argv[1], version='auto')
v = c.version()
i = c.info()
print(json.dumps({'version': v['Version'], 'api': v['ApiVersion'], 'components': [x['Name'] for x in v['Components']], 'driver': i['Driver'], 'ping': c.ping()}))
`;
    const { stdout } = await exec(python, ['-c', script, b.sock]);
    const r = JSON.parse(stdout);
    assert.equal(r.api, '1.51');
    assert.deepEqual(r.components, ['Engine', 'runc', 'conmon']);
    assert.equal(r.driver, 'overlay');
    assert.equal(r.ping, true);
  });
});
