// Command-line entry: `node dist/server/main.js [--port N] [--host H] ...`
import qrcode from 'qrcode-terminal';
import { ConfigError, loadConfig, usage } from './config.js';
import { createLiveRoomServer } from './app.js';
import { createLogger } from './logger.js';
import { persistentRoomSecret } from './room-secret.js';
import { lanAddresses, loadTls } from './tls.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage());
    return;
  }
  let config;
  try {
    config = loadConfig(process.env, args);
    config.roomSecret ??= persistentRoomSecret(config.dataDir);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`liveroom: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const tls = await loadTls(config.tls);
  if (tls) console.log(`TLS certificate: ${tls.source}`);
  const server = createLiveRoomServer(config, tls, log);
  const address = await server.listen();
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  const hosts = wildcard ? ['localhost', ...lanAddresses()] : [config.host];
  // Human-readable lines first (people start it by hand), then the structured record.
  console.log(`LiveRoom is listening on port ${address.port}`);
  for (const h of hosts) console.log(`  ${server.scheme}://${h}:${address.port}/`);
  // A phone on the LAN scans this instead of typing the address.
  const reachable = hosts.find((h) => h !== 'localhost' && !h.startsWith('127.'));
  if (reachable) {
    console.log(`Scan to open ${server.scheme}://${reachable}:${address.port}/ on a phone:`);
    qrcode.generate(`${server.scheme}://${reachable}:${address.port}/`, { small: true });
  }
  if (config.tls.selfSigned) console.log('The certificate is self-signed: each device asks once to trust it.');
  log.info(
    { port: address.port, host: config.host, limits: config.limits, trustProxy: config.trustProxy, allowedOrigins: config.allowedOrigins },
    'listening',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server
      .drain()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
