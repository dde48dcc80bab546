// The pure parts of push, login, search and distribution: names, platforms, error wording.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registryHostOf, searchImages } from '../../src/engine/images/distribution.ts';
import { parsePushPlatform, pushReference } from '../../src/engine/images/push.ts';
import { firstRegistryError } from '../../src/engine/images/registry-client.ts';
import { InvalidArgument } from '../../src/engine/errors.ts';
import type { EngineContext } from '../../src/engine/context.ts';

describe('registry endpoints', () => {
  it("maps a login's server address to the registry host, Docker Hub's names to its registry", () => {
    for (const hub of ['', 'https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']) {
      assert.equal(registryHostOf(hub), 'registry-1.docker.io', hub);
    }
    assert.equal(registryHostOf(undefined), 'registry-1.docker.io');
    assert.equal(registryHostOf('127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(registryHostOf('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
    assert.equal(registryHostOf('https://registry.example.com'), 'registry.example.com');
  });

  it('reads the push reference and tag as POST /images/{name}/push takes them', () => {
    assert.deepEqual(pushReference('busybox', undefined), { domain: 'docker.io', path: 'library/busybox', tag: undefined });
    assert.deepEqual(pushReference('127.0.0.1:5000/library/busybox', 'pushed'), { domain: '127.0.0.1:5000', path: 'library/busybox', tag: 'pushed' });
    assert.deepEqual(pushReference('a/b:1', undefined), { domain: 'docker.io', path: 'a/b', tag: '1' });
    assert.throws(() => pushReference(`a/b@sha256:${'0'.repeat(64)}`, undefined), /cannot push a digest reference/);
  });

  it("reads the push platform in the API's JSON form and the CLI's", () => {
    assert.deepEqual(parsePushPlatform('{"os":"linux","architecture":"arm64","variant":"v8"}'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
    assert.deepEqual(parsePushPlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
    assert.throws(() => parsePushPlatform('{"os":"linux"}'), InvalidArgument);
    assert.throws(() => parsePushPlatform('{not json'), InvalidArgument);
  });

  it("words a registry's error body as Docker's pusher shows it", () => {
    assert.equal(firstRegistryError('{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"},{"code":"UNAUTHORIZED","message":"x"}]}'), 'denied: requested access to the resource is denied');
    assert.equal(firstRegistryError('{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"blob upload invalid"}]}'), 'blob upload invalid: blob upload invalid');
    assert.equal(firstRegistryError('<html>'), undefined);
  });

  it('checks search parameters before asking any registry', async () => {
    const engine = { registriesConf: [] } as unknown as EngineContext;
    await assert.rejects(searchImages(engine, 'x', { limit: 101 }), /limit 101 is outside the range of \[1, 100\]/);
    await assert.rejects(searchImages(engine, 'x', { filters: { bogus: ['1'] } }), /invalid filter 'bogus'/);
    await assert.rejects(searchImages(engine, 'x', { filters: { stars: ['many'] } }), /invalid filter 'stars=many'/);
    await assert.rejects(searchImages(engine, 'https://x/y'), /should not have a scheme/);
    // is-automated=true finds nothing (the field is deprecated, always false), without a request
    assert.deepEqual(await searchImages(engine, 'x', { filters: { 'is-automated': ['true'] } }), []);
  });
});
