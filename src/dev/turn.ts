// `npm run turn`: a local coturn for development, configured for LiveRoom's
// short-lived credentials, with the settings to start LiveRoom against it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lanAddresses, selfSignedCertificate } from '../server/tls.js';
import { coturnConfig, findTurnserver, INSTALL_HINT } from './coturn.js';

const dir = path.resolve('.liveroom');
const port = Number(process.env.TURN_PORT ?? 3478);
const tlsPort = Number(process.env.TURN_TLS_PORT ?? 5349);

function secret(): string {
  if (process.env.TURN_SECRET) return process.env.TURN_SECRET;
  // Kept, so a LiveRoom started later with the printed settings matches.
  const file = path.join(dir, 'turn-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const made = randomBytes(24).toString('base64url');
  writeFileSync(file, made + '\n', { mode: 0o600 });
  return made;
}

async function main(): Promise<void> {
  const binary = findTurnserver();
  if (!binary) {
    console.error(INSTALL_HINT);
    process.exit(1);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const shared = secret();
  // turns: needs a certificate; the one `--https` makes covers the LAN addresses too.
  const tls = await selfSignedCertificate(dir);
  const config = coturnConfig({
    secret: shared,
    port,
    tlsPort,
    certFile: path.join(dir, 'tls-cert.pem'),
    keyFile: path.join(dir, 'tls-key.pem'),
    allowLoopbackPeers: true,
    pidFile: path.join(dir, 'turnserver.pid'),
  });
  const configFile = path.join(dir, 'turnserver.conf');
  writeFileSync(configFile, config, { mode: 0o600 });

  const host = lanAddresses()[0] ?? '127.0.0.1';
  const urls = [`turn:${host}:${port}?transport=udp`, `turn:${host}:${port}?transport=tcp`, `turns:${host}:${tlsPort}?transport=tcp`];
  console.log(`coturn: ${binary} -c ${configFile}   (certificate: ${tls.source})`);
  console.log('Start LiveRoom against it with:');
  const secretArg = process.env.TURN_SECRET ? '$TURN_SECRET' : `$(cat ${path.relative(process.cwd(), path.join(dir, 'turn-secret'))})`;
  console.log(`  TURN_URLS="${urls.join(',')}" TURN_SECRET="${secretArg}" npm start`);
  const child = spawn(binary, ['-c', configFile], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

void main();
