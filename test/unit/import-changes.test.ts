// `docker import --change` / `docker commit --change`: Dockerfile instructions applied to a
// container config with Docker's semantics, and import's repo/tag rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgument } from '../../src/engine/errors.ts';
import { applyChanges, expandWord, importName } from '../../src/engine/images/import.ts';

const refused = (changes: string[], pattern: RegExp) =>
  assert.throws(() => applyChanges(changes), (err: Error) => err instanceof InvalidArgument && pattern.test(err.message));

describe('applyChanges', () => {
  it('takes CMD and ENTRYPOINT in exec and shell form; ENTRYPOINT clears a CMD not set by these changes', () => {
    assert.deepEqual(applyChanges(['CMD ["sh"]']).Cmd, ['sh']);
    assert.deepEqual(applyChanges(['cmd echo "hi there"']).Cmd, ['/bin/sh', '-c', 'echo "hi there"']);
    assert.deepEqual(applyChanges(['ENTRYPOINT ["/init"]'], { Cmd: ['old'] }), { Cmd: null, Entrypoint: ['/init'] });
    assert.deepEqual(applyChanges(['CMD ["a"]', 'ENTRYPOINT ["/init"]']), { Cmd: ['a'], Entrypoint: ['/init'] });
    assert.deepEqual(applyChanges(['ENTRYPOINT /init --x']).Entrypoint, ['/bin/sh', '-c', '/init --x']);
  });

  it('takes ENV in both forms, with quotes and expansion of earlier variables', () => {
    const c = applyChanges(['ENV A=b', 'ENV B="x y" C=${A}c', 'ENV D ${B} and more', 'ENV A=z', "ENV E='$A' F=\"$A\" G=\\$A H=${NOPE:-dflt} I=${A:+set}"]);
    assert.deepEqual(c.Env, ['A=z', 'B=x y', 'C=bc', 'D=x y and more', 'E=$A', 'F=z', 'G=$A', 'H=dflt', 'I=set']);
    refused(['ENV'], /ENV requires at least one argument/);
    refused(['ENV =x'], /ENV names can not be blank/);
    refused(['ENV A="unterminated'], /unexpected end of statement/);
  });

  it('takes LABEL, EXPOSE (ranges and protocols), USER, WORKDIR (relative to the last), VOLUME, STOPSIGNAL, ONBUILD, HEALTHCHECK', () => {
    const c = applyChanges([
      'LABEL a="b c" d=e',
      'EXPOSE 80 53/udp 8000-8002',
      'USER app:app',
      'WORKDIR /srv',
      'WORKDIR app/../data',
      'VOLUME /a /b',
      'VOLUME ["/c"]',
      'STOPSIGNAL SIGQUIT',
      'ONBUILD RUN make',
      'HEALTHCHECK --interval=1m30s --timeout=5s --start-period=500ms --retries=2 CMD ["curl", "-f", "http://localhost"]',
    ]);
    assert.deepEqual(c.Labels, { a: 'b c', d: 'e' });
    assert.deepEqual(Object.keys(c.ExposedPorts!), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp']);
    assert.equal(c.User, 'app:app');
    assert.equal(c.WorkingDir, '/srv/data');
    assert.deepEqual(c.Volumes, { '/a': {}, '/b': {}, '/c': {} });
    assert.equal(c.StopSignal, 'SIGQUIT');
    assert.deepEqual(c.OnBuild, ['RUN make']);
    assert.deepEqual(c.Healthcheck, { Test: ['CMD', 'curl', '-f', 'http://localhost'], Interval: 90e9, Timeout: 5e9, StartPeriod: 5e8, Retries: 2 });
    assert.deepEqual(applyChanges(['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
  });

  it('joins continued lines and skips comments', () => {
    assert.deepEqual(applyChanges(['# a comment\nENV A=1 \\\n  B=2']).Env, ['A=1', 'B=2']);
  });

  it("refuses what Docker refuses, in Docker's words", () => {
    refused(['RUN echo hi'], /^run is not a valid change command$/);
    refused(['FROM busybox'], /^from is not a valid change command$/);
    refused(['EXPOSE abc'], /invalid containerPort: abc/);
    refused(['STOPSIGNAL SIGNOPE'], /invalid signal: SIGNOPE/);
    refused(['VOLUME [""]'], /VOLUME specified can not be an empty string/);
    refused(['ONBUILD FROM x'], /FROM isn't allowed as an ONBUILD trigger/);
    refused(['ONBUILD ONBUILD RUN x'], /Chaining ONBUILD/);
    refused(['HEALTHCHECK --interval=soon CMD true'], /invalid duration "soon"/);
  });

  it('leaves the base config alone', () => {
    const base = { Env: ['A=1'] };
    applyChanges(['ENV A=2'], base);
    assert.deepEqual(base, { Env: ['A=1'] });
  });
});

describe('expandWord', () => {
  it('expands $VAR and ${VAR} outside single quotes, and handles escapes', () => {
    const env = new Map([['X', '1']]);
    assert.equal(expandWord('a$X-${X}b', env), 'a1-1b');
    assert.equal(expandWord("'$X'\"$X\"\\$X", env), '$X1$X');
    assert.equal(expandWord('${Y-u}${X:+s}${Y:+no}', env), 'us');
  });
});

describe('importName', () => {
  it('names the image repo:tag, latest by default, a tag in repo kept unless tag is given', () => {
    assert.equal(importName(undefined, 'x'), undefined);
    assert.equal(importName('app', undefined), 'docker.io/library/app:latest');
    assert.equal(importName('app', 'v1'), 'docker.io/library/app:v1');
    assert.equal(importName('me/app:v2', undefined), 'docker.io/me/app:v2');
    assert.equal(importName('localhost:5000/app:v2', 'v3'), 'localhost:5000/app:v3');
    assert.throws(() => importName(`app@sha256:${'a'.repeat(64)}`, undefined), /cannot import digest reference/);
    assert.throws(() => importName('App', undefined), /must be lowercase/);
  });
});
