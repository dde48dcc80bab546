// The registry-facing endpoints through real clients (docker CLI 28, skopeo, raw HTTP) against
// real registries: login (basic and token), push (upload, existing layers, cross-repository
// mounts, all tags, refusals), search through the catalog, and /distribution/{name}/json.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startBerth, tempDir, type Berth } from '../helpers/berth.ts';
import { call } from '../helpers/http.ts';
import { dockerCli, fixture, startRegistries } from '../helpers/fixtures.ts';

const exec = promisify(execFile);
const PLAIN = 5320;
const AUTH = 5321;
const TOKEN = 5322;
const P = `127.0.0.1:${PLAIN}`;
const A = `127.0.0.1:${AUTH}`;
const T = `127.0.0.1:${TOKEN}`;
const busybox = fixture('busybox:latest');
const zstd = fixture('busybox-zstd:latest');
const multiarch = fixture('multiarch:latest');
const multiarchList = fixture('multiarch-list:latest');
const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

let b: Berth;
let registries: { stop(): void };

/** The docker CLI against this berth, with a config dir (its logins) of the test's choosing. */
function docker(config: string) {
  return (...args: string[]) => exec(dockerCli!, args, { env: { ...process.env, DOCKER_HOST: `unix://${b.sock}`, DOCKER_CONFIG: config }, maxBuffer: 64 << 20 });
}
let anon: ReturnType<typeof docker>;
let loggedIn: ReturnType<typeof docker>;

const fails = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
  }
  assert.fail('expected the command to fail');
};

const registryAuth = (username: string, password: string, serveraddress: string) =>
  Buffer.from(JSON.stringify({ username, password, serveraddress })).toString('base64url');

/** The digest a registry serves for a tag, asked anonymously (plain registry) or with berth's credentials. */
async function servedDigest(registry: string, repo: string, tag: string): Promise<string> {
  const args = ['inspect', '--raw', '--tls-verify=false', '--creds', 'berth:berth-secret', `docker://${registry}/${repo}:${tag}`];
  const raw = (await exec('skopeo', args)).stdout;
  const { createHash } = await import('node:crypto');
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

before(async () => {
  registries = startRegistries([
    ['start', PLAIN],
    ['start-auth', AUTH],
    ['start-token', TOKEN],
  ]);
  const dir = tempDir();
  const conf = join(dir, 'registries.conf');
  writeFileSync(conf, `unqualified-search-registries = ["${P}"]\n`);
  b = await startBerth({ dir, env: { CONTAINERS_REGISTRIES_CONF: conf } });
  for (const d of ['cli-anon', 'cli-login']) mkdirSync(join(b.dir, d));
  anon = docker(join(b.dir, 'cli-anon'));
  loggedIn = docker(join(b.dir, 'cli-login'));
  await anon('pull', '-q', `${P}/library/busybox`);
});

after(async () => {
  await b?.stop();
  registries?.stop();
});

describe('docker login (POST /auth)', { skip: dockerCli ? false : 'no docker CLI' }, () => {
  it('checks basic-auth credentials against the registry', async () => {
    const wrong = await fails(loggedIn('login', A, '-u', 'berth', '--password', 'wrong'));
    assert.match(wrong, new RegExp(`login attempt to http://${A}/v2/ failed with status: 401 Unauthorized`));
    const ok = await loggedIn('login', A, '-u', 'berth', '--password', 'berth-secret');
    assert.match(ok.stdout, /Login Succeeded/);
  });

  it('checks credentials through the token realm', async () => {
    const wrong = await fails(loggedIn('login', T, '-u', 'berth', '--password', 'wrong'));
    assert.match(wrong, new RegExp(`Get "http://${T}/v2/": unauthorized: incorrect username or password`));
    const ok = await loggedIn('login', T, '-u', 'berth', '--password', 'berth-secret');
    assert.match(ok.stdout, /Login Succeeded/);
  });

  it("answers in Docker's shape", async () => {
    const ok = await call(b.sock, 'POST', '/v1.47/auth', { body: { username: 'berth', password: 'berth-secret', serveraddress: `http://${A}/` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json(), { Status: 'Login Succeeded', IdentityToken: '' });
    const bad = await call(b.sock, 'POST', '/auth', { body: { username: 'berth', password: 'nope', serveraddress: T } });
    assert.equal(bad.status, 401);
    assert.equal(bad.json().message, `Get "http://${T}/v2/": unauthorized: incorrect username or password`);
    // an open registry lets anyone in, as Docker's check finds
    const open = await call(b.sock, 'POST', '/auth', { body: { serveraddress: P } });
    assert.equal(open.status, 200);
  });
});

describe('docker push', { skip: dockerCli ? false : 'no docker CLI' }, () => {
  it('mounts a layer from the repository the image came from, and pushes the stored manifest', async () => {
    await anon('tag', `${P}/library/busybox`, `${P}/library/copy:pushed`);
    const out = (await anon('push', `${P}/library/copy:pushed`)).stdout;
    assert.match(out, new RegExp(`The push refers to repository \\[${P}/library/copy\\]`));
    assert.match(out, /ece4de5b4b74: Mounted from library\/busybox/);
    assert.match(out, new RegExp(`pushed: digest: ${busybox.digest} size: 427`));
    assert.equal(await servedDigest(P, 'library/copy', 'pushed'), busybox.digest);
    const again = (await anon('push', `${P}/library/busybox:latest`)).stdout;
    assert.match(again, /ece4de5b4b74: Layer already exists/);
    assert.match(again, new RegExp(`latest: digest: ${busybox.digest} size: 427`));
  });

  it('refuses without credentials as Docker does', async () => {
    await anon('tag', `${P}/library/busybox`, `${A}/mine/busybox:pushed`);
    assert.match(await fails(anon('push', `${A}/mine/busybox:pushed`)), /no basic auth credentials/);
    await anon('tag', `${P}/library/busybox`, `${T}/berth/app:1`);
    assert.match(await fails(anon('push', `${T}/berth/app:1`)), /denied: requested access to the resource is denied/);
  });

  it('uploads to a basic-auth registry after login, then finds the layer there', async () => {
    const out = (await loggedIn('push', `${A}/mine/busybox:pushed`)).stdout;
    assert.match(out, /ece4de5b4b74: Pushed/);
    assert.match(out, new RegExp(`pushed: digest: ${busybox.digest} size: 427`));
    assert.equal(await servedDigest(A, 'mine/busybox', 'pushed'), busybox.digest);
    const again = (await loggedIn('push', `${A}/mine/busybox:pushed`)).stdout;
    assert.match(again, /ece4de5b4b74: Layer already exists/);
    const repoDigests = JSON.parse((await anon('image', 'inspect', '--format', '{{json .RepoDigests}}', `${A}/mine/busybox:pushed`)).stdout) as string[];
    assert.ok(repoDigests.includes(`${A}/mine/busybox@${busybox.digest}`), repoDigests.join(' '));
  });

  it('pushes every tag of the repository without a tag', async () => {
    await anon('tag', `${P}/library/busybox`, `${A}/mine/busybox:second`);
    const out = (await loggedIn('push', '--all-tags', `${A}/mine/busybox`)).stdout;
    assert.match(out, new RegExp(`pushed: digest: ${busybox.digest}`));
    assert.match(out, new RegExp(`second: digest: ${busybox.digest}`));
    assert.equal(await servedDigest(A, 'mine/busybox', 'second'), busybox.digest);
  });

  it("streams Docker's progress messages to a token registry", async () => {
    await anon('pull', '-q', `${P}/library/layers`);
    await anon('tag', `${P}/library/layers`, `${T}/berth/layers:x`);
    const res = await call(b.sock, 'POST', `/v1.47/images/${T}/berth/layers/push?tag=x`, { headers: { 'X-Registry-Auth': registryAuth('berth', 'berth-secret', T) } });
    assert.equal(res.status, 200);
    const lines = res.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    assert.deepEqual(lines[0], { status: `The push refers to repository [${T}/berth/layers]` });
    const layers = fixture('layers:latest').layers!;
    const unique = [...new Set(layers.map((l) => l.digest))];
    assert.equal(lines.filter((l) => l.status === 'Preparing').length, unique.length);
    const pushing = lines.find((l) => l.status === 'Pushing' && l.progressDetail.current === l.progressDetail.total && l.progressDetail.total > 100_000)!;
    assert.ok(pushing, res.text);
    assert.match(pushing.progress, /^\[=+>\] +\d/);
    assert.ok(lines.some((l) => l.status === 'Pushed' && l.id === pushing.id));
    const digest = fixture('layers:latest').digest;
    assert.ok(lines.some((l) => l.status === `x: digest: ${digest} size: ${lines.at(-1)!.aux.Size}`), res.text);
    assert.deepEqual(lines.at(-1), { progressDetail: {}, aux: { Tag: 'x', Digest: digest, Size: lines.at(-1)!.aux.Size } });
    assert.equal(await servedDigest(T, 'berth/layers', 'x'), digest);
    // and through the CLI after login: the busybox layer is on the registry now
    const out = (await loggedIn('push', `${T}/berth/app:1`)).stdout;
    assert.match(out, /ece4de5b4b74: (Mounted from berth\/layers|Layer already exists)/);
    assert.match(out, new RegExp(`1: digest: ${busybox.digest}`));
  });

  it('pushes a layer it lacks (pulled in another encoding) by mount, else another manifest of the image', async () => {
    await anon('pull', '-q', `${P}/library/busybox-zstd`);
    await anon('tag', `${P}/library/busybox-zstd`, `${P}/library/zcopy:1`);
    const out = (await anon('push', `${P}/library/zcopy:1`)).stdout;
    assert.match(out, /acfaaf0341df: Mounted from library\/busybox-zstd/);
    assert.match(out, new RegExp(`1: digest: ${zstd.digest}`));
    await anon('tag', `${P}/library/busybox-zstd`, `${A}/mine/zstd:1`);
    const other = (await loggedIn('push', `${A}/mine/zstd:1`)).stdout;
    assert.match(other, new RegExp(`1: digest: ${busybox.digest}`));
  });

  it("says what Docker says for a missing image or tag", async () => {
    const res = await call(b.sock, 'POST', `/images/${P}/library/nothere/push`);
    assert.equal(res.status, 404);
    assert.equal(res.json().message, `An image does not exist locally with the tag: ${P}/library/nothere`);
    assert.match(await fails(anon('push', `${P}/library/copy:nope`)), new RegExp(`tag does not exist: ${P}/library/copy:nope`));
    const platform = await call(b.sock, 'POST', `/v1.47/images/${P}/library/copy/push?tag=pushed&platform=${encodeURIComponent('{"os":"linux","architecture":"arm64"}')}`);
    assert.equal(platform.status, 404);
    assert.match(platform.json().message, /does not provide the specified platform \(linux\/arm64\)/);
  });
});

describe('docker search (GET /images/search)', { skip: dockerCli ? false : 'no docker CLI' }, () => {
  it("lists a registry's repositories that hold the term", async () => {
    const out = (await anon('search', '--format', '{{.Name}}', `${P}/busy`)).stdout.trim().split('\n').sort();
    assert.deepEqual(out, ['busybox', 'busybox-oci', 'busybox-uncompressed', 'busybox-zstd'].map((n) => `${P}/library/${n}`));
    const two = (await anon('search', '--limit', '2', '--format', '{{.Name}}', `${P}/busy`)).stdout.trim().split('\n');
    assert.equal(two.length, 2);
    assert.equal((await anon('search', '-f', 'is-official=true', '--format', '{{.Name}}', `${P}/busy`)).stdout.trim(), '');
  });

  it("answers in Docker's shape, and searches the unqualified-search registries for a bare term", async () => {
    const res = await call(b.sock, 'GET', `/images/search?term=${encodeURIComponent('multiarch')}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), [
      { star_count: 0, is_official: false, name: `${P}/library/multiarch`, is_automated: false, description: '' },
      { star_count: 0, is_official: false, name: `${P}/library/multiarch-list`, is_automated: false, description: '' },
    ]);
    assert.equal((await call(b.sock, 'GET', `/images/search?term=x&limit=0x`)).status, 400);
    assert.match((await call(b.sock, 'GET', `/images/search?term=${P}/x&limit=101`)).json().message, /limit 101 is outside the range of \[1, 100\]/);
    assert.match((await call(b.sock, 'GET', `/images/search?term=${P}/x&filters=${encodeURIComponent('{"bogus":["1"]}')}`)).json().message, /invalid filter 'bogus'/);
  });

  it('reads the catalog of a token registry with the credentials the CLI sends', async () => {
    const out = (await loggedIn('search', '--format', '{{.Name}}', `${T}/secret`)).stdout.trim();
    assert.equal(out, `${T}/private/secret`);
  });
});

describe('GET /distribution/{name}/json', () => {
  it("describes a manifest and its image's platform", async () => {
    const res = await call(b.sock, 'GET', `/v1.47/distribution/${P}/library/busybox/json`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), {
      Descriptor: { mediaType: busybox.mediaType, digest: busybox.digest, size: 427 },
      Platforms: [{ architecture: 'amd64', os: 'linux' }],
    });
  });

  it('lists the platforms of an index and a manifest list, without attestations', async () => {
    for (const f of [multiarch, multiarchList]) {
      const res = await call(b.sock, 'GET', `/distribution/${P}/${f.registry}/json`);
      assert.equal(res.status, 200, res.text);
      const body = res.json();
      assert.equal(body.Descriptor.digest, f.digest);
      assert.equal(body.Descriptor.mediaType, f.mediaType);
      assert.deepEqual(body.Platforms, [
        { architecture: 'amd64', os: 'linux' },
        { architecture: 'arm64', os: 'linux', variant: 'v8' },
      ]);
    }
  });

  it('answers 404 for a missing manifest and 401 without credentials', async () => {
    const missing = await call(b.sock, 'GET', `/distribution/${P}/library/nothere/json`);
    assert.equal(missing.status, 404);
    assert.match(missing.json().message, /manifest unknown/);
    const anonymous = await call(b.sock, 'GET', `/distribution/${A}/private/secret/json`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.json().message, /no basic auth credentials/);
    const denied = await call(b.sock, 'GET', `/distribution/${T}/private/secret/json`);
    assert.equal(denied.status, 401);
    const withAuth = await call(b.sock, 'GET', `/distribution/${A}/private/secret/json`, { headers: { 'X-Registry-Auth': registryAuth('berth', 'berth-secret', A) } });
    assert.equal(withAuth.status, 200);
    assert.equal(withAuth.json().Descriptor.digest, fixture('private/secret:latest').digest);
  });
});
