import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseVersionOutput } from '../../src/engine/runtime/versions.ts';
import { goArch, parseOsRelease } from '../../src/engine/system/host.ts';

describe('program and host facts', () => {
  it('parses runc --version', () => {
    const v = parseVersionOutput('runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n');
    assert.equal(v.version, '1.1.5+ds1');
    assert.equal(v.commit, '1.1.5+ds1-1+deb12u1');
    assert.equal(v.details['libseccomp'], '2.5.4');
  });

  it('parses conmon --version', () => {
    const v = parseVersionOutput('conmon version 2.1.6\ncommit: unknown\n');
    assert.equal(v.version, '2.1.6');
    assert.equal(v.commit, 'unknown');
  });

  it('parses crun --version', () => {
    const v = parseVersionOutput('crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/user/0/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX\n');
    assert.equal(v.version, '1.8.1');
    assert.equal(v.commit, 'f8a096be060b22ccd3d5f3ebe44108517fbf6c30');
  });

  it('parses os-release', () => {
    const r = parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n');
    assert.deepEqual(r, { prettyName: 'Debian GNU/Linux 12 (bookworm)', id: 'debian', versionId: '12', codename: 'bookworm' });
  });

  it('names architectures as Go does', () => {
    assert.equal(goArch('x64'), 'amd64');
    assert.equal(goArch('arm64'), 'arm64');
  });
});
