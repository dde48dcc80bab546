// Volume names, the local driver's options, and the volume listings' filters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MS, needsMount, parseMountOptions, validateDriverOptions } from '../../src/engine/volumes/driver-options.ts';
import { volumeListFilter, volumePruneFilter } from '../../src/engine/volumes/describe.ts';
import { newVolumeName, validateVolumeName } from '../../src/engine/volumes/names.ts';
import { rfc3339Seconds, type VolumeRecord } from '../../src/engine/volumes/store.ts';

const vol = (name: string, extra: Partial<VolumeRecord> = {}): VolumeRecord => ({ Name: name, Driver: 'local', Labels: null, Options: null, CreatedAt: '', Anonymous: false, ...extra });

describe('volume names', () => {
  it('takes Docker grammar and refuses the rest in its words', () => {
    for (const ok of ['ab', 'my_vol.1-x', '0a']) assert.doesNotThrow(() => validateVolumeName(ok));
    assert.throws(() => validateVolumeName('a b'), {
      message: 'create a b: "a b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
    });
    assert.throws(() => validateVolumeName('_x'), /includes invalid characters/);
    assert.throws(() => validateVolumeName('../x'), /includes invalid characters/);
    assert.throws(() => validateVolumeName('x'), { message: 'create x: volume name is too short, names should be at least two alphanumeric characters' });
    assert.match(newVolumeName(), /^[0-9a-f]{64}$/);
  });

  it('prints creation times as Go RFC 3339 in seconds', () => {
    assert.match(rfc3339Seconds(new Date('2026-01-02T03:04:05.678Z')), /^2026-01-0\dT\d\d:\d\d:05(Z|[+-]\d\d:\d\d)$/);
  });
});

describe('local driver options', () => {
  it('accepts type/device/o together, refuses unknown or incomplete ones', () => {
    assert.doesNotThrow(() => validateDriverOptions('v1', null));
    assert.doesNotThrow(() => validateDriverOptions('v1', { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' }));
    assert.throws(() => validateDriverOptions('v1', { foo: 'bar' }), { message: 'create v1: invalid option: "foo"' });
    assert.throws(() => validateDriverOptions('v1', { type: 'tmpfs' }), { message: 'create v1: missing required option: "device"' });
    assert.throws(() => validateDriverOptions('v1', { o: 'bind', device: '/x' }), { message: 'create v1: missing required option: "type"' });
    assert.throws(() => validateDriverOptions('v1', { size: '10m' }), /no quota support/);
    assert.equal(needsMount({ type: 'none', device: '/x' }), true);
    assert.equal(needsMount({}), false);
    assert.equal(needsMount(null), false);
  });

  it('splits o into mount flags, a propagation change and the filesystem data', () => {
    assert.deepEqual(parseMountOptions('bind'), { flags: MS.BIND, propagation: 0, data: '' });
    assert.deepEqual(parseMountOptions('rbind,ro,rshared'), { flags: MS.BIND | MS.REC | MS.RDONLY, propagation: MS.SHARED | MS.REC, data: '' });
    assert.deepEqual(parseMountOptions('size=10m,uid=1000,nosuid,noexec'), { flags: MS.NOSUID | MS.NOEXEC, propagation: 0, data: 'size=10m,uid=1000' });
    assert.deepEqual(parseMountOptions('ro,rw'), { flags: 0, propagation: 0, data: '' });
    assert.deepEqual(parseMountOptions(undefined), { flags: 0, propagation: 0, data: '' });
  });
});

describe('volume filters', () => {
  it('list: name (a regular expression), driver, label, dangling', () => {
    const vols = [vol('web-data', { Labels: { app: 'web' } }), vol('db-data', { Labels: { app: 'db', tier: 'x' } }), vol('cache')];
    const used = new Set(['db-data']);
    const pick = (f: Record<string, string[]>) => vols.filter(volumeListFilter(f, (n) => (used.has(n) ? 1 : 0))).map((v) => v.Name);
    assert.deepEqual(pick({ name: ['data'] }), ['web-data', 'db-data']);
    assert.deepEqual(pick({ name: ['^c'] }), ['cache']);
    assert.deepEqual(pick({ label: ['app=db'] }), ['db-data']);
    assert.deepEqual(pick({ label: ['app'] }), ['web-data', 'db-data']);
    assert.deepEqual(pick({ dangling: ['true'] }), ['web-data', 'cache']);
    assert.deepEqual(pick({ dangling: ['0'] }), ['db-data']);
    assert.deepEqual(pick({ driver: ['local'] }).length, 3);
    assert.deepEqual(pick({ driver: ['nfs'] }), []);
    assert.throws(() => pick({ foo: ['x'] }), { message: "invalid filter 'foo'" });
    assert.throws(() => pick({ dangling: ['maybe'] }), /dangling=maybe/);
  });

  it('prune: anonymous volumes only unless all=true; label and label! narrow it', () => {
    const vols = [vol('named1', { Labels: { k: 'v' } }), vol('a'.repeat(64), { Anonymous: true, Labels: { 'com.docker.volume.anonymous': '' } }), vol('named2')];
    const pick = (f: Record<string, string[]>) => vols.filter(volumePruneFilter(f)).map((v) => v.Name.slice(0, 6));
    assert.deepEqual(pick({}), ['aaaaaa']);
    assert.deepEqual(pick({ all: ['true'] }), ['named1', 'aaaaaa', 'named2']);
    assert.deepEqual(pick({ all: ['1'], label: ['k=v'] }), ['named1']);
    assert.deepEqual(pick({ all: ['true'], 'label!': ['k'] }), ['aaaaaa', 'named2']);
    assert.throws(() => pick({ all: ['yes'] }), /invalid filter 'all'/);
    assert.throws(() => pick({ all: ['true', 'false'] }), /only one value is expected/);
  });
});
