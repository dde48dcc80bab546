import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeNameSlashes } from '../../src/server/name-paths.ts';

describe('image names with slashes in paths', () => {
  it('encodes the name so one path segment holds it', () => {
    assert.equal(encodeNameSlashes('/images/127.0.0.1:5000/library/busybox:latest/json', 'GET'), '/images/127.0.0.1:5000%2Flibrary%2Fbusybox:latest/json');
    assert.equal(encodeNameSlashes('/images/a/b/tag?repo=x/y&tag=1', 'POST'), '/images/a%2Fb/tag?repo=x/y&tag=1');
    assert.equal(encodeNameSlashes('/images/a/b/c', 'DELETE'), '/images/a%2Fb%2Fc');
    assert.equal(encodeNameSlashes('/distribution/a/b/json', 'GET'), '/distribution/a%2Fb/json');
  });
  it('leaves other paths alone', () => {
    for (const p of ['/images/json', '/images/create?fromImage=a/b', '/images/busybox/json', '/images/a/b/c', '/containers/x/json']) {
      assert.equal(encodeNameSlashes(p, 'GET'), p);
    }
    assert.equal(encodeNameSlashes('/images/busybox', 'DELETE'), '/images/busybox');
  });
});
