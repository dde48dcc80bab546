import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { familiarString, parseNormalizedReference, referenceString, withDefaultTag, validateTag } from '../../src/engine/images/reference.ts';
import { InvalidArgument } from '../../src/engine/errors.ts';

const full = (s: string) => referenceString(withDefaultTag(parseNormalizedReference(s)));
const D = 'sha256:b190a2affb458722d53aa1d137f58efc19013f912940ee8c7bd4ad5a784f7378';

describe('image references', () => {
  it('normalises short names as Docker does', () => {
    assert.equal(full('busybox'), 'docker.io/library/busybox:latest');
    assert.equal(full('busybox:1.35'), 'docker.io/library/busybox:1.35');
    assert.equal(full('user/app'), 'docker.io/user/app:latest');
    assert.equal(full('index.docker.io/library/busybox'), 'docker.io/library/busybox:latest');
    assert.equal(full('docker.io/busybox'), 'docker.io/library/busybox:latest');
  });

  it('recognises registries by a dot, a port, or localhost', () => {
    assert.deepEqual(parseNormalizedReference('127.0.0.1:5000/library/busybox:latest'), { domain: '127.0.0.1:5000', path: 'library/busybox', tag: 'latest' });
    assert.deepEqual(parseNormalizedReference('localhost/app'), { domain: 'localhost', path: 'app' });
    assert.deepEqual(parseNormalizedReference('quay.io/a/b/c'), { domain: 'quay.io', path: 'a/b/c' });
    assert.deepEqual(parseNormalizedReference('[::1]:5000/x'), { domain: '[::1]:5000', path: 'x' });
  });

  it('keeps digests, with or without a tag', () => {
    assert.deepEqual(parseNormalizedReference(`busybox@${D}`), { domain: 'docker.io', path: 'library/busybox', digest: D });
    assert.equal(full(`h:5000/a:t@${D}`), `h:5000/a:t@${D}`);
    assert.equal(full(`busybox@${D}`), `docker.io/library/busybox@${D}`);
  });

  it('shows familiar forms', () => {
    assert.equal(familiarString(withDefaultTag(parseNormalizedReference('busybox'))), 'busybox:latest');
    assert.equal(familiarString(parseNormalizedReference('docker.io/user/app:v1')), 'user/app:v1');
    assert.equal(familiarString(parseNormalizedReference('127.0.0.1:5000/library/web')), '127.0.0.1:5000/library/web');
  });

  it('refuses bad references with Docker\'s messages', () => {
    const msg = (s: string) => {
      try {
        parseNormalizedReference(s);
      } catch (e) {
        assert.ok(e instanceof InvalidArgument);
        return e.message;
      }
      return 'accepted';
    };
    assert.equal(msg('UPPER::bad'), 'invalid reference format: repository name must be lowercase');
    assert.equal(msg('Busybox'), 'invalid reference format: repository name must be lowercase');
    assert.equal(msg('busybox::x'), 'invalid reference format');
    assert.equal(msg('a/../b'), 'invalid reference format');
    assert.equal(msg('-leading'), 'invalid reference format');
    assert.equal(msg('busybox:'), 'invalid reference format');
    assert.equal(msg('busybox@sha256:abc'), 'invalid reference format');
    assert.equal(msg(''), 'invalid reference format: repository name must have at least one component');
    assert.equal(msg('a'.repeat(64).replace(/a/g, 'f')), `invalid repository name (${'f'.repeat(64)}), cannot specify 64-byte hexadecimal strings`);
    assert.match(msg(`x/${'a'.repeat(260)}`), /must not be more than 255 characters/);
    assert.equal(msg('host:99999999999999999999999/x'), 'accepted', 'ports are digits, as in Docker');
  });

  it('validates tags', () => {
    assert.equal(validateTag('v1.0_rc-2'), 'v1.0_rc-2');
    assert.throws(() => validateTag('.bad'), /invalid tag format/);
    assert.throws(() => validateTag('x'.repeat(129)), /invalid tag format/);
  });
});
