// HTTPS for a LAN: browsers give a page the camera only on a secure origin, so
// a phone opening http://192.168.x.y cannot broadcast. Either the operator's
// certificate files, or a self-signed certificate made once for this machine's
// addresses and kept on disk, so a phone that accepted it once keeps trusting it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces, hostname } from 'node:os';
import path from 'node:path';
import { isIP } from 'node:net';
import { generate } from 'selfsigned';
import type { TlsConfig } from './config.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** Where it came from, for the start-up message. */
  source: string;
}

/** This machine's non-internal IPv4 addresses: the ones a phone on the LAN can reach. */
export function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

/** The names a generated certificate covers. */
export function certificateNames(addresses: readonly string[] = lanAddresses()): string[] {
  return [...new Set(['localhost', hostname(), '127.0.0.1', '::1', ...addresses])];
}

interface StoredMeta {
  names: string[];
  notAfter: string;
}

/**
 * The self-signed certificate in `dir`, made anew only when it is missing,
 * expires within a week, or does not cover every name asked for (the machine
 * moved to another network).
 */
export async function selfSignedCertificate(dir: string, names: readonly string[] = certificateNames()): Promise<TlsMaterial> {
  const certFile = path.join(dir, 'tls-cert.pem');
  const keyFile = path.join(dir, 'tls-key.pem');
  const metaFile = path.join(dir, 'tls-cert.json');
  if (existsSync(certFile) && existsSync(keyFile) && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as StoredMeta;
    const fresh = Date.parse(meta.notAfter) - Date.now() > 7 * 86_400_000;
    if (fresh && names.every((n) => meta.names.includes(n))) {
      return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), source: `${certFile} (reused)` };
    }
  }
  const notAfter = new Date(Date.now() + 365 * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: 'LiveRoom on the LAN' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    ],
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  writeFileSync(certFile, pems.cert);
  writeFileSync(metaFile, JSON.stringify({ names: [...names], notAfter: notAfter.toISOString() } satisfies StoredMeta, null, 2));
  return { cert: pems.cert, key: pems.private, source: `${certFile} (new, for ${names.join(', ')})` };
}

/** The certificate the server should use, or null for plain HTTP. */
export async function loadTls(config: TlsConfig): Promise<TlsMaterial | null> {
  if (config.certFile && config.keyFile) {
    return { cert: readFileSync(config.certFile, 'utf8'), key: readFileSync(config.keyFile, 'utf8'), source: config.certFile };
  }
  return config.selfSigned ? selfSignedCertificate(config.dir) : null;
}
