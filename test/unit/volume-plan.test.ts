// What a container mounts, decided at create as Docker decides it: binds, --mount, volumes-from,
// the image's VOLUMEs, and the conflicts between them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseVolumesFrom, planMountPoints, recordMountPoints } from '../../src/engine/volumes/plan.ts';
import type { MountPoint } from '../../src/engine/containers/types.ts';

const dests = (p: ReturnType<typeof planMountPoints>) => p.map((x) => x.mp.Destination);

describe('planMountPoints', () => {
  it('binds: host paths are binds, names are volumes (mode z), a lone path is an anonymous volume', () => {
    const p = planMountPoints({}, { Binds: ['/srv:/srv:ro,rslave', 'data:/data', 'cache:/cache:ro,nocopy', '/anon'] });
    assert.deepEqual(p[0]!.mp, { Type: 'bind', Source: '/srv', Destination: '/srv', Mode: 'ro,rslave', RW: false, Propagation: 'rslave' });
    assert.equal(p[0]!.volume, undefined);
    assert.deepEqual(p[1]!.mp, { Type: 'volume', Name: 'data', Source: '', Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' });
    assert.deepEqual(p[1]!.volume, { name: 'data' });
    assert.equal(p[2]!.mp.RW, false);
    assert.equal(p[2]!.mp.NoCopy, true);
    assert.equal(p[2]!.mp.Mode, 'ro,nocopy');
    assert.equal(p[3]!.mp.Anonymous, true);
    assert.deepEqual(p[3]!.volume, { name: '' });
  });

  it('--mount volumes carry their labels, driver options and nocopy; tmpfs and bind mounts keep their spec', () => {
    const p = planMountPoints({}, {
      Mounts: [
        { Type: 'volume', Source: 'v1', Target: '/v', ReadOnly: true, VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } } },
        { Type: 'volume', Target: '/anon/' },
        { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024 } },
        { Type: 'bind', Source: '/host/', Target: '/b', BindOptions: { Propagation: 'rshared' } },
      ],
    });
    assert.deepEqual(p[0]!.volume, { name: 'v1', labels: { a: 'b' }, options: { type: 'tmpfs', device: 'tmpfs' } });
    assert.deepEqual([p[0]!.mp.RW, p[0]!.mp.NoCopy, p[0]!.mp.Mode], [false, true, 'z']);
    assert.equal(p[1]!.mp.Destination, '/anon');
    assert.equal(p[1]!.mp.Anonymous, true);
    assert.deepEqual([p[2]!.mp.Type, p[2]!.mp.Spec?.TmpfsOptions?.SizeBytes], ['tmpfs', 1024]);
    assert.deepEqual([p[3]!.mp.Source, p[3]!.mp.Propagation], ['/host', 'rshared']);
  });

  it('refuses two mounts at one destination, a bind over a tmpfs, and a driver that is not local', () => {
    assert.throws(() => planMountPoints({}, { Binds: ['a1:/x', '/h:/x'] }), { message: 'Duplicate mount point: /x' });
    assert.throws(() => planMountPoints({}, { Binds: ['a1:/x'], Mounts: [{ Type: 'volume', Source: 'b1', Target: '/x' }] }), { message: 'Duplicate mount point: /x' });
    assert.throws(() => planMountPoints({}, { Binds: ['/h:/run'], Tmpfs: { '/run': '' } }), { message: 'Duplicate mount point: /run' });
    assert.throws(() => planMountPoints({}, { Mounts: [{ Type: 'volume', Source: 'v1', Target: '/x', VolumeOptions: { DriverConfig: { Name: 'nfsplugin' } } }] }), /plugin "nfsplugin" not found/);
  });

  it('image VOLUMEs become anonymous volumes unless something else is mounted there', () => {
    const p = planMountPoints({ Volumes: { '/data': {}, '/logs/': {}, '/run': {} } }, { Binds: ['mine:/data'], Tmpfs: { '/run': '' } });
    assert.deepEqual(dests(p), ['/data', '/logs']);
    assert.equal(p[0]!.mp.Name, 'mine');
    assert.deepEqual(p[1]!.mp, { Type: 'volume', Name: '', Source: '', Destination: '/logs', Driver: 'local', Mode: '', RW: true, Propagation: '', Anonymous: true });
  });

  it('volumes-from copies the other mounts (read-only when asked, never copied up); a bind replaces one', () => {
    const other: MountPoint[] = [
      { Type: 'volume', Name: 'abc', Source: '/v/abc/_data', Destination: '/d', Driver: 'local', Mode: 'z', RW: true, Propagation: '', Anonymous: true },
      { Type: 'bind', Source: '/h', Destination: '/b', Mode: '', RW: true, Propagation: 'rprivate' },
    ];
    const p = planMountPoints({ Volumes: { '/d': {} } }, { VolumesFrom: ['other:ro'], Binds: ['/h2:/b'] }, (ref) => (ref === 'other' ? other : []));
    assert.deepEqual(dests(p), ['/d', '/b']);
    assert.deepEqual(p[0]!.mp, { ...other[0], RW: false, Mode: '', NoCopy: true, Populated: true });
    assert.deepEqual(p[0]!.volume, { name: 'abc', mustExist: true });
    assert.equal(p[1]!.mp.Source, '/h2');
  });

  it('reads volumes-from specs as Docker does', () => {
    assert.deepEqual(parseVolumesFrom('web'), { ref: 'web', readOnly: false });
    assert.deepEqual(parseVolumesFrom('web:ro'), { ref: 'web', readOnly: true });
    assert.deepEqual(parseVolumesFrom('web:rw'), { ref: 'web', readOnly: false });
    assert.throws(() => parseVolumesFrom('web:rshared'), { message: 'invalid mode: rshared' });
    assert.throws(() => parseVolumesFrom('web:nocopy'), { message: 'invalid mode: nocopy' });
    assert.throws(() => parseVolumesFrom(''), /cannot be an empty string/);
  });

  it('a record from before volumes were planned still gets its binds', () => {
    const mps = recordMountPoints({ HostConfig: { Binds: ['/h:/x', 'n1:/y'] }, Config: {} });
    assert.deepEqual(mps.map((m) => [m.Type, m.Name ?? '', m.Destination]), [['bind', '', '/x'], ['volume', 'n1', '/y']]);
    const planned: MountPoint[] = [{ Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' }];
    assert.equal(recordMountPoints({ MountPoints: planned, HostConfig: { Binds: ['/h:/x'] }, Config: {} }), planned);
  });
});
