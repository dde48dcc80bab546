// What the network step changes in a container's /etc/resolv.conf and /etc/hosts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostsFile, resolvConf } from '../../src/engine/containers/etc-files.ts';

describe('etc files from network facts', () => {
  const host = 'nameserver 10.0.0.53\nsearch corp.example\noptions ndots:2\n';
  it("points resolv.conf at the network's DNS server, keeping the host's search and options", () => {
    const text = resolvConf({ host, internalNameservers: ['172.18.0.1'] });
    assert.match(text, /^nameserver 172\.18\.0\.1\nsearch corp\.example\noptions ndots:2\n/);
    assert.doesNotMatch(text, /^nameserver 10\.0\.0\.53$/m);
    assert.match(text, /# ExtServers: \[10\.0\.0\.53\]/);
  });
  it('lets --dns win over the network DNS server', () => {
    const text = resolvConf({ host, dns: ['9.9.9.9'], internalNameservers: ['172.18.0.1'] });
    assert.match(text, /^nameserver 9\.9\.9\.9\n/);
    assert.doesNotMatch(text, /172\.18\.0\.1/);
  });
  it('keeps the host resolvers on the default bridge', () => {
    assert.match(resolvConf({ host }), /^nameserver 10\.0\.0\.53\n/);
  });
  it('adds link lines before the container own line', () => {
    const text = hostsFile({ hostname: 'abc', ips: ['172.17.0.3'], linkLines: ['172.17.0.2\tsite 0123456789ab web'] });
    assert.match(text, /172\.17\.0\.2\tsite 0123456789ab web\n172\.17\.0\.3\tabc\n$/);
  });
});
