// Pulling and managing images through real clients (docker CLI 28, docker-py) from real
// registries: every fixture encoding, platforms, auth, progress, and what the store keeps.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startBerth, type Berth } from '../helpers/berth.ts';
import { call } from '../helpers/http.ts';
import { dockerCli, dockerFor, dockerPyFor, fixture, startRegistries } from '../helpers/fixtures.ts';

const exec = promisify(execFile);
const PLAIN = 5330;
const AUTH = 5331;
const TOKEN = 5332;
const R = `127.0.0.1:${PLAIN}`;
const busybox = fixture('busybox:latest');

let b: Berth;
let docker: ReturnType<typeof dockerFor>;
let py: ReturnType<typeof dockerPyFor>;
let registries: { stop(): void };

before(async () => {
  registries = startRegistries([
    ['start', PLAIN],
    ['start-auth', AUTH],
    ['start-token', TOKEN],
  ]);
  b = await startBerth();
  docker = dockerFor(b);
  py = dockerPyFor(b);
});

after(async () => {
  await b?.stop();
  registries?.stop();
});

const inspect = async (name: string) => JSON.parse((await docker('image', 'inspect', name)).stdout)[0];
const fails = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return e.stderr || e.message;
  }
  assert.fail('expected the command to fail');
};

describe('docker pull', { skip: dockerCli ? false : 'no docker CLI' }, () => {
  it('pulls every encoding of busybox into one image id, and says so twice', async () => {
    const out = (await docker('pull', `${R}/library/busybox`)).stdout;
    assert.match(out, /latest: Pulling from library\/busybox/);
    assert.match(out, /ece4de5b4b74: Pull complete/);
    assert.match(out, new RegExp(`Digest: ${busybox.digest}`));
    assert.match(out, new RegExp(`Status: Downloaded newer image for ${R}/library/busybox:latest`));
    for (const name of ['busybox-oci', 'busybox-zstd', 'busybox-uncompressed']) {
      const o = (await docker('pull', `${R}/library/${name}`)).stdout;
      assert.match(o, new RegExp(`Digest: ${fixture(`${name}:latest`).digest}`));
      assert.match(o, /Already exists|Status: Downloaded newer image/);
    }
    const ids = (await docker('images', '--no-trunc', '--format', '{{.Repository}} {{.ID}}')).stdout.trim().split('\n');
    assert.equal(ids.length, 4);
    for (const line of ids) assert.equal(line.split(' ')[1], busybox.imageId, line);
    const again = (await docker('pull', `${R}/library/busybox`)).stdout;
    assert.match(again, new RegExp(`Status: Image is up to date for ${R}/library/busybox:latest`));
    assert.doesNotMatch(again, /Pull complete|Downloading/);
  });

  it('pulls by digest and shows the repo digest', async () => {
    const web = fixture('web:latest');
    const out = (await docker('pull', `${R}/library/web@${web.digest}`)).stdout;
    assert.match(out, new RegExp(`Status: Downloaded newer image for ${R}/library/web@${web.digest}`));
    const i = await inspect(`${R}/library/web@${web.digest}`);
    assert.equal(i.Id, web.imageId);
    assert.deepEqual(i.RepoTags, []);
    assert.deepEqual(i.RepoDigests, [`${R}/library/web@${web.digest}`]);
    const listed = (await docker('images', '--digests', '--format', '{{.Repository}}|{{.Tag}}|{{.Digest}}', `${R}/library/web`)).stdout.trim();
    assert.equal(listed, `${R}/library/web|<none>|${web.digest}`);
  });

  it('chooses the platform from an index, and refuses one it lacks', async () => {
    await docker('pull', `${R}/library/multiarch`);
    const amd = await inspect(`${R}/library/multiarch`);
    assert.equal(amd.Architecture, 'amd64');
    assert.equal(amd.RepoDigests[0], `${R}/library/multiarch@${fixture('multiarch:latest').digest}`);
    await docker('pull', '--platform', 'linux/arm64', `${R}/library/multiarch-list`);
    const arm = await inspect(`${R}/library/multiarch-list`);
    assert.equal(arm.Architecture, 'arm64');
    assert.equal(arm.Variant, 'v8');
    assert.equal(arm.Os, 'linux');
    const err = await fails(docker('pull', '--platform', 'linux/s390x', `${R}/library/multiarch`));
    assert.match(err, /no matching manifest for linux\/s390x in the manifest list entries/);
  });

  it('reports a missing image and a bad reference as Docker does', async () => {
    const err = await fails(docker('pull', `${R}/library/nothere`));
    assert.match(err, new RegExp(`manifest for ${R}/library/nothere:latest not found: manifest unknown`));
    const res = await call(b.sock, 'POST', '/v1.41/images/create?fromImage=UPPER::bad');
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.text), { message: 'invalid reference format: repository name must be lowercase' });
    const missing = await call(b.sock, 'GET', '/v1.41/images/doesnotexist/json');
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.text), { message: 'no such image: doesnotexist: No such image: doesnotexist:latest' });
  });

  it('streams Docker\'s progress messages', async () => {
    const res = await call(b.sock, 'POST', `/v1.41/images/create?fromImage=${R}/library/layers&tag=latest`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    const msgs = res.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(msgs[0], { status: 'Pulling from library/layers', id: 'latest' });
    const statuses = new Set(msgs.map((m) => m.status));
    for (const s of ['Pulling fs layer', 'Waiting', 'Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete', 'Already exists']) assert.ok(statuses.has(s), s);
    const dl = msgs.find((m) => m.status === 'Downloading');
    assert.ok(dl.progressDetail.total > 0 && /^\[[=> ]+\] +[\d.]+k?M?B\/[\d.]+k?M?B$/.test(dl.progress), JSON.stringify(dl));
    // the busybox layer is there from the first test; the empty layer appears once, not twice
    assert.ok(msgs.some((m) => m.status === 'Already exists' && m.id === 'ece4de5b4b74'));
    assert.equal(msgs.filter((m) => m.status === 'Pulling fs layer').length, 4);
    assert.deepEqual(msgs.at(-1), { status: `Status: Downloaded newer image for ${R}/library/layers:latest` });
  });
});

describe('images', { skip: dockerCli ? false : 'no docker CLI' }, () => {
  it('lists with filters, and inspects with Docker\'s fields', async () => {
    await docker('pull', `${R}/library/rich`);
    const byLabel = (await docker('images', '--filter', 'label=com.example.fixture=rich', '--format', '{{.Repository}}')).stdout.trim();
    assert.equal(byLabel, `${R}/library/rich`);
    const ref = (await docker('images', '--filter', `reference=${R}/library/busybox*`, '--format', '{{.Repository}}')).stdout.trim().split('\n').sort();
    assert.deepEqual(ref, ['busybox', 'busybox-oci', 'busybox-uncompressed', 'busybox-zstd'].map((n) => `${R}/library/${n}`));
    const rich = await inspect(`${R}/library/rich`);
    const f = fixture('rich:latest');
    assert.equal(rich.Id, f.imageId);
    assert.deepEqual(rich.Config.Entrypoint, ['/usr/local/bin/entrypoint.sh']);
    assert.equal(rich.Config.User, 'app');
    assert.equal(rich.Config.StopSignal, 'SIGUSR1');
    assert.deepEqual(Object.keys(rich.Config.ExposedPorts).sort(), ['8080/tcp', '9090/udp']);
    assert.equal(rich.Config.Healthcheck.Retries, 2);
    assert.deepEqual(rich.RootFS.Layers, f.layers!.map((l) => l.diffId));
    assert.ok(rich.Size > 1_900_000 && rich.Size < 2_200_000, `size ${rich.Size}`);
    assert.equal(rich.GraphDriver.Name, 'overlay2');
    assert.ok(existsSync(rich.GraphDriver.Data.UpperDir), 'the top layer dir is real');
  });

  it('shows history, tags, and removes as Docker does', async () => {
    const hist = (await docker('history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}', `${R}/library/layers`)).stdout.trim().split('\n');
    assert.equal(hist.length, 7);
    assert.equal(hist[0]!.split('|')[0], fixture('layers:latest').imageId);
    assert.match(hist[6]!, /^<missing>\|.*ADD file:busybox/);
    await docker('tag', `${R}/library/layers`, 'mine/layers:v1');
    assert.deepEqual((await inspect('mine/layers:v1')).RepoTags.sort(), [`${R}/library/layers:latest`, 'mine/layers:v1']);
    const untag = (await docker('rmi', 'mine/layers:v1')).stdout.trim();
    assert.equal(untag, 'Untagged: mine/layers:v1');
    const rm = (await docker('rmi', `${R}/library/layers`)).stdout.trim().split('\n');
    assert.equal(rm[0], `Untagged: ${R}/library/layers:latest`);
    assert.equal(rm[1], `Untagged: ${R}/library/layers@${fixture('layers:latest').digest}`);
    assert.equal(rm[2], `Deleted: ${fixture('layers:latest').imageId}`);
    // five layers of its own went with it; the busybox layer stays for the busybox images
    assert.equal(rm.length, 3 + 5);
    const err = await fails(docker('rmi', busybox.imageId!.slice(7, 19)));
    assert.match(err, /unable to delete 65add6a21ba8 \(must be forced\) - image is referenced in multiple repositories/);
  });

  it('is readable by skopeo as an OCI layout', async () => {
    const name = `${R}/library/busybox-oci:latest`;
    const { stdout } = await exec('skopeo', ['inspect', '--raw', `oci:${join(b.root, 'images')}:${name}`]);
    assert.equal(JSON.parse(stdout).config.digest, busybox.imageId);
  });

  it('prunes dangling images', async () => {
    // web was pulled by digest only: no tag, so dangling as Docker counts it; a moved tag leaves
    // the image it named dangling too
    await docker('tag', `${R}/library/web@${fixture('web:latest').digest}`, 'moving:tag');
    await docker('tag', `${R}/library/rich`, 'moving:tag');
    const dangling = (await docker('images', '--filter', 'dangling=true', '--no-trunc', '-q')).stdout.trim();
    assert.equal(dangling, fixture('web:latest').imageId);
    const out = (await docker('image', 'prune', '-f')).stdout;
    assert.match(out, new RegExp(`deleted: ${fixture('web:latest').imageId}`));
    assert.match(out, /Total reclaimed space: [1-9]/);
    assert.equal((await docker('images', '--filter', 'dangling=true', '-q')).stdout.trim(), '');
  });
});

describe('registry auth', { skip: dockerCli ? false : 'no docker CLI' }, () => {
  const auth = (user: string, password: string, server: string) => Buffer.from(JSON.stringify({ username: user, password, serveraddress: server })).toString('base64url');

  it('refuses a private pull without credentials, and pulls it with them', async () => {
    const basicErr = await fails(docker('pull', `127.0.0.1:${AUTH}/private/secret`));
    assert.match(basicErr, /no basic auth credentials/);
    const tokenErr = await fails(docker('pull', `127.0.0.1:${TOKEN}/private/secret`));
    assert.match(tokenErr, /pull access denied/);
    for (const port of [AUTH, TOKEN]) {
      const res = await call(b.sock, 'POST', `/images/create?fromImage=127.0.0.1:${port}/private/secret&tag=latest`, {
        headers: { 'X-Registry-Auth': auth('berth', 'berth-secret', `127.0.0.1:${port}`) },
      });
      assert.equal(res.status, 200);
      assert.match(res.text, /Status: Downloaded newer image/, res.text);
    }
    assert.equal((await inspect(`127.0.0.1:${TOKEN}/private/secret`)).Id, fixture('private/secret:latest').imageId);
  });

  it('pulls public images anonymously through the token registry', async () => {
    const out = (await docker('pull', `127.0.0.1:${TOKEN}/library/busybox:1.35`)).stdout;
    assert.match(out, /Status: Downloaded newer image/);
  });
});

describe('docker-py', () => {
  it('pulls, lists, gets and removes', async () => {
    const { stdout } = await py(`
img = client.images.pull('${R}/library/web', tag='latest')
ids = [i.id for i in client.images.list()]
got = client.images.get('${R}/library/web:latest')
events = list(client.api.pull('${R}/library/web', tag='latest', stream=True, decode=True))
client.images.remove('${R}/library/web:latest')
gone = False
try:
    client.images.get('${R}/library/web:latest')
except docker.errors.ImageNotFound:
    gone = True
print(json.dumps({'id': img.id, 'listed': img.id in ids, 'tags': got.tags, 'last': events[-1], 'gone': gone}))
`);
    const r = JSON.parse(stdout);
    assert.equal(r.id, fixture('web:latest').imageId);
    assert.equal(r.listed, true);
    assert.ok(r.tags.includes(`${R}/library/web:latest`));
    assert.deepEqual(r.last, { status: `Status: Image is up to date for ${R}/library/web:latest` });
    assert.equal(r.gone, true);
  });
});

describe('crash safety', () => {
  it('a pull killed with SIGKILL leaves no image pointing at missing data; the next pull completes', async () => {
    const k = await startBerth();
    try {
      // kill the service while it streams the pull
      const child = spawn(dockerCli ?? 'true', ['pull', `${R}/library/layers`], { env: { ...process.env, DOCKER_HOST: `unix://${k.sock}`, DOCKER_CONFIG: k.dir }, stdio: 'pipe' });
      await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => (/Downloading|Pulling fs layer/.test(d.toString()) ? resolve() : undefined)));
      k.proc.kill('SIGKILL');
      await k.exited;
      await new Promise((r) => child.once('exit', r));
      const index = JSON.parse(readFileSync(join(k.root, 'images', 'index.json'), 'utf8'));
      // whatever names exist point at complete images
      for (const e of index.manifests) {
        const m = JSON.parse(readFileSync(join(k.root, 'images', 'blobs', 'sha256', e.digest.slice(7)), 'utf8'));
        assert.ok(existsSync(join(k.root, 'images', 'blobs', 'sha256', m.config.digest.slice(7))));
      }
      const again = await startBerth({ dir: k.dir });
      try {
        const out = (await dockerFor(again)('pull', `${R}/library/layers`)).stdout;
        assert.match(out, /Status: Downloaded newer image/);
        const names = readdirSync(join(k.root, 'layers')).filter((n) => /^[a-f0-9]{64}$/.test(n));
        assert.equal(names.length, 6);
      } finally {
        await again.stop();
      }
    } finally {
      await k.stop();
    }
  });
});
