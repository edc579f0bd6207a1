// Command-line entry: `node dist/server/main.js [--port N] [--host H] ...`
import { networkInterfaces } from 'node:os';
import { ConfigError, loadConfig, usage } from './config.js';
import { createLiveRoomServer } from './app.js';

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
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`liveroom: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const server = createLiveRoomServer(config);
  const address = await server.listen();
  const hosts = config.host === '0.0.0.0' || config.host === '::' ? ['localhost', ...lanAddresses()] : [config.host];
  console.log(`LiveRoom is listening on port ${address.port}`);
  for (const h of hosts) console.log(`  http://${h}:${address.port}/`);
  const stop = () => {
    console.log('LiveRoom is shutting down');
    server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
