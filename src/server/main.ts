// Command-line entry: `node dist/server/main.js [--port N] [--host H] ...`
import { networkInterfaces } from 'node:os';
import { ConfigError, loadConfig, usage } from './config.js';
import { createLiveRoomServer } from './app.js';
import { createLogger } from './logger.js';
import { persistentRoomSecret } from './room-secret.js';

function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

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
  const server = createLiveRoomServer(config, log);
  const address = await server.listen();
  const hosts = config.host === '0.0.0.0' || config.host === '::' ? ['localhost', ...lanAddresses()] : [config.host];
  // Human-readable lines first (people start it by hand), then the structured record.
  console.log(`LiveRoom is listening on port ${address.port}`);
  for (const h of hosts) console.log(`  http://${h}:${address.port}/`);
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
