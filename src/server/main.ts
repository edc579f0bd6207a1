// Command-line entry: `node dist/server/main.js [--port N] [--host H] ...`
import qrcode from 'qrcode-terminal';
import { ConfigError, loadConfig, usage } from './config.js';
import { createLiveRoomServer } from './app.js';
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
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`liveroom: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const tls = await loadTls(config.tls);
  if (tls) console.log(`TLS certificate: ${tls.source}`);
  const server = createLiveRoomServer(config, tls);
  const address = await server.listen();
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  const hosts = wildcard ? ['localhost', ...lanAddresses()] : [config.host];
  console.log(`LiveRoom is listening on port ${address.port}`);
  for (const h of hosts) console.log(`  ${server.scheme}://${h}:${address.port}/`);
  // A phone on the LAN scans this instead of typing the address.
  const reachable = hosts.find((h) => h !== 'localhost' && !h.startsWith('127.'));
  if (reachable) {
    console.log(`Scan to open ${server.scheme}://${reachable}:${address.port}/ on a phone:`);
    qrcode.generate(`${server.scheme}://${reachable}:${address.port}/`, { small: true });
  }
  if (config.tls.selfSigned) console.log('The certificate is self-signed: each device asks once to trust it.');
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
