// The coturn configuration `npm run turn` and the topology tests write: it must
// check exactly the credentials src/server/ice.ts makes.
import { describe, expect, it } from 'vitest';
import { coturnConfig } from '../../../src/dev/coturn.js';

const lines = (text: string) => text.trim().split('\n');

describe('coturnConfig', () => {
  it('uses the shared secret scheme, a realm, a bounded relay range, and no TLS without a certificate', () => {
    const conf = lines(coturnConfig({ secret: 's3cret' }));
    expect(conf).toEqual(expect.arrayContaining(['use-auth-secret', 'static-auth-secret=s3cret', 'realm=liveroom', 'listening-port=3478', 'min-port=49160', 'max-port=49200', 'no-tls', 'no-dtls', 'fingerprint']));
    expect(conf).not.toContain('allow-loopback-peers');
    expect(conf.some((l) => l.startsWith('tls-listening-port'))).toBe(false);
  });

  it('serves turns: with a certificate; loopback peers, addresses and external-ip when asked', () => {
    const conf = lines(
      coturnConfig({
        secret: 's',
        certFile: '/c.pem',
        keyFile: '/k.pem',
        tlsPort: 443,
        listeningIps: ['10.0.0.5'],
        externalIp: '203.0.113.10/10.0.0.5',
        allowLoopbackPeers: true,
      }),
    );
    expect(conf).toEqual(
      expect.arrayContaining(['tls-listening-port=443', 'cert=/c.pem', 'pkey=/k.pem', 'listening-ip=10.0.0.5', 'external-ip=203.0.113.10/10.0.0.5', 'allow-loopback-peers']),
    );
    expect(conf).not.toContain('no-tls');
  });
});
