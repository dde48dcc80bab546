import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atLeast, compareVersions, MAX_API_VERSION, MIN_API_VERSION, negotiateCompatVersion, splitApiPath } from '../../src/server/api-version.ts';
import { InvalidArgument } from '../../src/engine/errors.ts';

describe('API versions', () => {
  it('splits versioned and unversioned compat paths', () => {
    assert.deepEqual(splitApiPath('/v1.41/containers/json?all=1'), { api: 'compat', version: '1.41', url: '/containers/json?all=1' });
    assert.deepEqual(splitApiPath('/containers/json'), { api: 'compat', version: undefined, url: '/containers/json' });
    assert.deepEqual(splitApiPath('/v1.41'), { api: 'compat', version: '1.41', url: '/' });
    assert.deepEqual(splitApiPath('/v1.41?x=1'), { api: 'compat', version: '1.41', url: '?x=1' });
  });

  it('splits libpod paths with three-part versions', () => {
    assert.deepEqual(splitApiPath('/v5.0.0/libpod/_ping'), { api: 'libpod', version: '5.0.0', url: '/libpod/_ping' });
    assert.deepEqual(splitApiPath('/v4.3.1/libpod/info'), { api: 'libpod', version: '4.3.1', url: '/libpod/info' });
    assert.deepEqual(splitApiPath('/libpod/info'), { api: 'libpod', version: undefined, url: '/libpod/info' });
  });

  it('does not take a path segment that merely starts with v for a version', () => {
    assert.deepEqual(splitApiPath('/volumes/v1.2'), { api: 'compat', version: undefined, url: '/volumes/v1.2' });
    assert.equal(splitApiPath('/version').version, undefined);
  });

  it('compares versions numerically, not as strings', () => {
    assert.equal(compareVersions('1.9', '1.10'), -1);
    assert.equal(compareVersions('1.41', '1.41'), 0);
    assert.equal(compareVersions('1.41.0', '1.41'), 0);
    assert.equal(compareVersions('2.0', '1.99'), 1);
    assert.ok(atLeast('1.42', '1.42'));
    assert.ok(!atLeast('1.41', '1.42'));
  });

  it('serves unversioned requests at the newest version', () => {
    assert.equal(negotiateCompatVersion(undefined), MAX_API_VERSION);
    assert.equal(negotiateCompatVersion(MIN_API_VERSION), MIN_API_VERSION);
  });

  it('rejects versions out of range with Docker\'s wording', () => {
    assert.throws(() => negotiateCompatVersion('1.12'), (e: unknown) =>
      e instanceof InvalidArgument &&
      e.message === 'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version');
    assert.throws(() => negotiateCompatVersion('1.99'), (e: unknown) =>
      e instanceof InvalidArgument && e.message === 'client version 1.99 is too new. Maximum supported API version is 1.51');
  });
});
