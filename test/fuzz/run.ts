// `npm run fuzz [-- --messages N --seed S]`: the long fuzz campaign (1,000,000
// frames by default) against a real server process on loopback; prints the report
// and exits non-zero if any check fails.
import { runCampaign } from './campaign.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const messages = arg('messages', 1_000_000);
const seed = arg('seed', Date.now() % 1_000_000);
console.log(`fuzzing with ${messages} frames, seed ${seed}`);
const report = await runCampaign({ messages, connections: 8, window: 200, floodPerConnection: 5_000, seed, log: console.log });
console.log(JSON.stringify(report, null, 2));
const ok =
  report.serverExitCode === null &&
  report.answered === report.sent &&
  report.roomFailures.length === 0 &&
  report.roomExchanges > 0 &&
  report.connectionsAfter === 2 &&
  report.roomsAfter === 1 &&
  report.heapAfterBytes < report.heapBeforeBytes + 16 * 1024 * 1024;
console.log(ok ? 'fuzz: all checks passed' : 'fuzz: FAILED');
process.exit(ok ? 0 : 1);
