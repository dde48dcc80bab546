import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadRegistriesConfig, parseRegistriesConf } from '../../src/config/registries.ts';
import { registryServiceConfig } from '../../src/api/compat/system.ts';
import { tempDir } from '../helpers/berth.ts';

describe('registries.conf', () => {
  it('reads the v2 form with registries and mirrors', () => {
    const cfg = parseRegistriesConf(`
unqualified-search-registries = ["docker.io", "quay.io"]
short-name-mode = "permissive"

[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "mirror.example:5000"
insecure = true

[[registry]]
location = "127.0.0.1:5000"
insecure = true

[[registry]]
prefix = "evil.example"
blocked = true
`);
    assert.deepEqual(cfg.unqualifiedSearch, ['docker.io', 'quay.io']);
    assert.equal(cfg.shortNameMode, 'permissive');
    assert.deepEqual(cfg.registries, [
      { prefix: 'docker.io', location: 'docker.io', insecure: false, blocked: false, mirrors: [{ location: 'mirror.example:5000', insecure: true }] },
      { prefix: '127.0.0.1:5000', location: '127.0.0.1:5000', insecure: true, blocked: false, mirrors: [] },
      { prefix: 'evil.example', location: 'evil.example', insecure: false, blocked: true, mirrors: [] },
    ]);
  });

  it('reads the v1 form', () => {
    const cfg = parseRegistriesConf(`
[registries.search]
registries = ['docker.io', 'registry.local:5000']
[registries.insecure]
registries = ['registry.local:5000']
[registries.block]
registries = ['bad.example']
`);
    assert.deepEqual(cfg.unqualifiedSearch, ['docker.io', 'registry.local:5000']);
    const byPrefix = Object.fromEntries(cfg.registries!.map((r) => [r.prefix, r]));
    assert.equal(byPrefix['registry.local:5000']!.insecure, true);
    assert.equal(byPrefix['docker.io']!.insecure, false);
    assert.equal(byPrefix['bad.example']!.blocked, true);
  });

  it('refuses a file that mixes v1 and v2', () => {
    assert.throws(() => parseRegistriesConf('unqualified-search-registries=["a"]\n[registries.search]\nregistries=["b"]\n', 'x.conf'), /x\.conf: mixing sysregistry v1\/v2/);
  });

  it('names the file in a syntax error', () => {
    assert.throws(() => parseRegistriesConf('this is = = not toml', '/etc/containers/registries.conf'), /^InvalidArgument: \/etc\/containers\/registries\.conf: /);
  });

  it('lets drop-ins replace the search list and registries by prefix, in order', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'main.conf'), 'unqualified-search-registries=["docker.io"]\n[[registry]]\nprefix="a.example"\ninsecure=false\n');
    writeFileSync(join(dir, 'd/10-a.conf'), '[[registry]]\nprefix="a.example"\ninsecure=true\n');
    writeFileSync(join(dir, 'd/20-b.conf'), 'unqualified-search-registries=["quay.io"]\n');
    const cfg = loadRegistriesConfig([join(dir, 'main.conf'), join(dir, 'missing.conf'), join(dir, 'd/10-a.conf'), join(dir, 'd/20-b.conf')]);
    assert.deepEqual(cfg.unqualifiedSearch, ['quay.io']);
    assert.equal(cfg.registries.length, 1);
    assert.equal(cfg.registries[0]!.insecure, true);
  });

  it('shows in /info as Docker\'s RegistryConfig', () => {
    const rc = registryServiceConfig({
      unqualifiedSearch: [],
      registries: [
        { prefix: 'docker.io', location: 'docker.io', insecure: false, blocked: false, mirrors: [{ location: 'm.example', insecure: false }] },
        { prefix: 'r.local:5000', location: 'r.local:5000', insecure: true, blocked: false, mirrors: [] },
      ],
    });
    assert.deepEqual(rc.Mirrors, ['https://m.example/']);
    assert.deepEqual(rc.IndexConfigs['docker.io'], { Name: 'docker.io', Mirrors: ['https://m.example/'], Secure: true, Official: true });
    assert.deepEqual(rc.IndexConfigs['r.local:5000'], { Name: 'r.local:5000', Mirrors: [], Secure: false, Official: false });
    assert.ok(rc.InsecureRegistryCIDRs.includes('127.0.0.0/8'));
  });
});
