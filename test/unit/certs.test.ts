import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { registryTls } from '../../src/config/certs.ts';
import { tempDir } from '../helpers/berth.ts';

describe('certs.d', () => {
  it('collects CAs from every dir and the first client pair', async () => {
    const root = tempDir();
    const a = join(root, 'containers');
    const b = join(root, 'docker');
    mkdirSync(join(a, 'reg.example:5000'), { recursive: true });
    mkdirSync(join(b, 'reg.example:5000'), { recursive: true });
    writeFileSync(join(a, 'reg.example:5000', 'ca.crt'), 'CA-A');
    writeFileSync(join(a, 'reg.example:5000', 'client.cert'), 'CERT-A');
    writeFileSync(join(a, 'reg.example:5000', 'client.key'), 'KEY-A');
    writeFileSync(join(b, 'reg.example:5000', 'ca.crt'), 'CA-B');
    writeFileSync(join(b, 'reg.example:5000', 'other.cert'), 'CERT-B');
    writeFileSync(join(b, 'reg.example:5000', 'other.key'), 'KEY-B');
    assert.deepEqual(await registryTls('reg.example:5000', [a, b]), { ca: ['CA-A', 'CA-B'], cert: 'CERT-A', key: 'KEY-A' });
    assert.deepEqual(await registryTls('elsewhere', [a, b]), { ca: [] });
    rmSync(root, { recursive: true });
  });

  it('refuses a certificate without its key, and hosts that are paths', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'r'));
    writeFileSync(join(root, 'r', 'lonely.cert'), 'C');
    await assert.rejects(registryTls('r', [root]), /missing key lonely\.key/);
    await assert.rejects(registryTls('../etc', [root]), /invalid registry host/);
    rmSync(root, { recursive: true });
  });
});
