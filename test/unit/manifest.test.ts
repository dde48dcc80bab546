import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { choosePlatform, MediaType, parseManifest, parsePlatform, type ImageIndex } from '../../src/engine/images/manifest.ts';
import { InvalidArgument, NotFound } from '../../src/engine/errors.ts';

const fixtures = new URL('../../../shared/fixtures/oci/blobs/sha256/', import.meta.url);
const blob = (d: string) => readFileSync(new URL(d.slice(7), fixtures));
const MULTIARCH = 'sha256:c5dc8ce38bb1533725fb00e5093a04fbb691aa1d1455bede50a8ae79e2a2b17c';
const BUSYBOX = 'sha256:b190a2affb458722d53aa1d137f58efc19013f912940ee8c7bd4ad5a784f7378';

describe('manifests', () => {
  it('reads a Docker schema2 manifest', () => {
    const m = parseManifest(blob(BUSYBOX), MediaType.dockerManifest);
    assert.equal(m.kind, 'manifest');
    if (m.kind !== 'manifest') return;
    assert.equal(m.config.digest, 'sha256:65add6a21ba830342fb88958fd5f8fa80a1d8f64c14e8671396652171cbd761c');
    assert.equal(m.layers[0]!.digest, 'sha256:ece4de5b4b74d7a4f393335c71b20c5dff5d63418c8457f8296b9c758d9ab763');
  });

  it('chooses a platform from the fixture index, by default this host\'s', () => {
    const idx = parseManifest(blob(MULTIARCH)) as ImageIndex;
    assert.equal(idx.kind, 'index');
    const amd64 = choosePlatform(idx, parsePlatform('linux/amd64'));
    const arm64 = choosePlatform(idx, parsePlatform('linux/arm64'));
    assert.notEqual(amd64.digest, arm64.digest);
    assert.equal(arm64.platform!.architecture, 'arm64');
    if (process.arch === 'x64') assert.equal(choosePlatform(idx, parsePlatform(undefined)).digest, amd64.digest);
  });

  it('says which platform is missing', () => {
    const idx = parseManifest(blob(MULTIARCH)) as ImageIndex;
    assert.throws(() => choosePlatform(idx, parsePlatform('linux/s390x')), (e: unknown) =>
      e instanceof NotFound && e.message === 'no matching manifest for linux/s390x in the manifest list entries');
  });

  it('matches arm variants, with arm64 meaning v8', () => {
    const idx: ImageIndex = {
      kind: 'index',
      mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: MediaType.ociManifest, digest: 'sha256:' + '1'.repeat(64), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
        { mediaType: MediaType.ociManifest, digest: 'sha256:' + '2'.repeat(64), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        { mediaType: MediaType.ociManifest, digest: 'sha256:' + '3'.repeat(64), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    };
    assert.equal(choosePlatform(idx, parsePlatform('linux/arm/v7')).digest, 'sha256:' + '2'.repeat(64));
    assert.equal(choosePlatform(idx, parsePlatform('linux/arm64/v8')).digest, 'sha256:' + '3'.repeat(64));
  });

  it('refuses schema1 and things that are not manifests', () => {
    assert.throws(() => parseManifest('{"schemaVersion":1,"fsLayers":[]}'), (e: unknown) => e instanceof InvalidArgument && /schema 1/.test(e.message));
    assert.throws(() => parseManifest('not json'), InvalidArgument);
    assert.throws(() => parseManifest('{"schemaVersion":2,"mediaType":"text/html"}'), /unsupported manifest media type/);
    assert.throws(() => parsePlatform('linux'), InvalidArgument);
  });
});
