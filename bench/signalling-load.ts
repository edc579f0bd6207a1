// `npm run bench:signalling`: many concurrent signalling clients on loopback,
// against LiveRoom and, as the floor, a bare `ws` echo server, in the same run.
//
// The server runs as a child process pinned to CPU 0 (so "one core" is literal
// and its CPU time and RSS can be read from /proc); the clients run in worker
// processes pinned to CPU 1 (one process may hold only `ulimit -n` sockets).
// Per size: every client connects; one in ROOM_SIZE creates a room; all send a
// stats_report every --stats-every ms; then the viewers join at --join-rate per
// second while that traffic runs (join round trip = join_room sent -> room_joined
// received); then a steady window of --steady seconds with everyone in rooms,
// over which server CPU is measured; then every viewer leaves and joins again
// (churn, round trips measured too); then everyone disconnects.
//
// Usage: npm run bench:signalling -- [--sizes 5000,19900] [--workers 4]
//          [--join-rate 1000] [--stats-every 2000] [--steady 10]
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const ROOM_SIZE = 50; // one broadcaster and 49 viewers
const CONNECT_CONCURRENCY = 200;

type Target = 'liveroom' | 'echo';
type ToWorker =
  | { cmd: 'connect'; url: string; clients: number; target: Target }
  | { cmd: 'join'; rate: number }
  | { cmd: 'churn'; rate: number }
  | { cmd: 'close' };
type FromWorker = { done: 'connect' } | { done: 'join' | 'churn'; rtts: number[]; failures: number } | { done: 'close' };

// ------------------------------------------------------------------ worker side

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function worker(): Promise<void> {
  const statsEvery = Number(process.env.STATS_EVERY ?? 2000);
  let target: Target = 'liveroom';
  const sockets: WebSocket[] = [];
  /** Clients in a room (broadcasters from the start, viewers once joined): only they report stats. */
  const inRoom = new Set<WebSocket>();
  const rooms: string[] = [];
  let statsTimer: ReturnType<typeof setInterval> | null = null;
  const send = (m: FromWorker) => process.send!(m);

  /** Resolves with the first frame that `match` accepts on `ws`. */
  const nextFrame = (ws: WebSocket, match: (m: { type: string; [k: string]: unknown }) => boolean, timeoutMs = 30_000) =>
    new Promise<{ type: string; [k: string]: unknown }>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.off('message', on);
        reject(new Error('timeout'));
      }, timeoutMs);
      const on = (data: WebSocket.RawData) => {
        const m = JSON.parse(data.toString()) as { type: string };
        if (!match(m)) return;
        clearTimeout(timer);
        ws.off('message', on);
        resolve(m);
      };
      ws.on('message', on);
    });

  const connectOne = (url: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const welcome = nextFrame(ws, (m) => m.type === 'welcome');
      ws.once('error', reject);
      welcome.then(() => resolve(ws), reject);
    });

  const joinOnce = async (ws: WebSocket, roomId: string): Promise<number> => {
    const t = performance.now();
    const frame = JSON.stringify({ type: 'join_room', room_id: roomId });
    const reply = nextFrame(ws, (m) =>
      target === 'echo' ? m.type === 'join_room' : m.type === 'room_joined' || (m.type === 'error' && m.request_type === 'join_room'),
    );
    ws.send(frame);
    const m = await reply;
    if (m.type === 'error') throw new Error(String(m.code));
    return performance.now() - t;
  };

  const pacedJoins = async (rate: number, before?: (ws: WebSocket) => Promise<void>) => {
    const rtts: number[] = [];
    let failures = 0;
    const viewers = sockets.map((ws, i) => ({ ws, i })).filter(({ i }) => i % ROOM_SIZE !== 0);
    const started = performance.now();
    await Promise.all(
      viewers.map(async ({ ws, i }, n) => {
        await sleep(Math.max(0, started + (n * 1000) / rate - performance.now()));
        try {
          if (before) {
          inRoom.delete(ws);
          await before(ws);
        }
          inRoom.delete(ws);
          rtts.push(await joinOnce(ws, rooms[Math.floor(i / ROOM_SIZE)]!));
          inRoom.add(ws);
        } catch (err) {
          failures++;
          if (failures <= 3) console.error(`join failed: ${String(err)}`);
        }
      }),
    );
    return { rtts, failures };
  };

  process.on('message', (msg: ToWorker) => {
    handle(msg).catch((err: unknown) => {
      console.error(`worker: ${msg.cmd} failed: ${String(err)}`);
      process.exit(1);
    });
  });

  async function handle(msg: ToWorker): Promise<void> {
    if (msg.cmd === 'connect') {
      target = msg.target;
      for (let i = 0; i < msg.clients; i += CONNECT_CONCURRENCY) {
        const batch = await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, msg.clients - i) }, () => connectOne(msg.url)));
        sockets.push(...batch);
      }
      for (let i = 0; i < sockets.length; i += ROOM_SIZE) {
        const ws = sockets[i]!;
        inRoom.add(ws);
        if (target === 'echo') {
          rooms.push(String(100000 + i));
          continue;
        }
        const created = nextFrame(ws, (m) => m.type === 'room_created');
        ws.send('{"type":"create_room"}');
        rooms.push(String((await created).room_id));
      }
      const report = JSON.stringify({ type: 'stats_report', bitrate: 1500, fps: 30, rtt: 20, loss: 0, connection_type: 'p2p' });
      let turn = 0;
      // Spread the reports over the interval, as real clients' timers are.
      statsTimer = setInterval(() => {
        const slice = Math.ceil(sockets.length / 10);
        for (const ws of sockets.slice(turn * slice, (turn + 1) * slice)) if (inRoom.has(ws) && ws.readyState === ws.OPEN) ws.send(report);
        turn = (turn + 1) % 10;
      }, statsEvery / 10);
      send({ done: 'connect' });
    } else if (msg.cmd === 'join') {
      send({ done: 'join', ...(await pacedJoins(msg.rate)) });
    } else if (msg.cmd === 'churn') {
      const leave = async (ws: WebSocket) => {
        if (target === 'echo') return;
        const left = nextFrame(ws, (m) => m.type === 'room_left');
        ws.send('{"type":"leave_room"}');
        await left;
      };
      send({ done: 'churn', ...(await pacedJoins(msg.rate, leave)) });
    } else {
      if (statsTimer) clearInterval(statsTimer);
      await Promise.all(sockets.map((ws) => new Promise((resolve) => (ws.once('close', resolve), ws.terminate()))));
      send({ done: 'close' });
      process.exit(0);
    }
  }
}

// ------------------------------------------------------------------ driver side

interface ProcStat {
  cpuSeconds: number;
  rssBytes: number;
}

function procStat(pid: number): ProcStat {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  return { cpuSeconds: ticks / 100, rssBytes: rss };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function startServer(target: Target): Promise<{ child: ChildProcess; port: number }> {
  const entry = target === 'liveroom' ? path.join(root, 'src/server/main.ts') : path.join(here, 'echo-server.ts');
  const child = spawn('taskset', ['-c', '0', process.execPath, '--import', 'tsx', entry], {
    cwd: root,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      UDP_PORT: '0',
      LOG_LEVEL: 'warn',
      STUN_URLS: '',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'liveroom-bench-')),
      // Every client is 127.0.0.1 here: the per-address limits would refuse them.
      MAX_CONNECTIONS_PER_IP: '1000000',
      MAX_ROOMS_PER_IP: '1000000',
      MAX_VIEWERS: String(ROOM_SIZE),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${target} server exited with ${code}: ${out}`)));
  });
  return { child, port };
}

async function runSize(target: Target, size: number, opts: { workers: number; joinRate: number; steadyS: number; statsEvery: number }) {
  const { child, port } = await startServer(target);
  await sleep(1000);
  const base = procStat(child.pid!);
  const per = Math.ceil(size / opts.workers / ROOM_SIZE) * ROOM_SIZE;
  const workers = Array.from({ length: opts.workers }, () =>
    fork(fileURLToPath(import.meta.url), ['--worker'], {
      execPath: 'taskset',
      execArgv: ['-c', '1', process.execPath, '--import', 'tsx'],
      env: { ...process.env, STATS_EVERY: String(opts.statsEvery) },
    }),
  );
  const ask = <T extends FromWorker>(w: ChildProcess, msg: ToWorker) =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`a client worker exited (${code}) during ${msg.cmd}`));
      w.once('exit', onExit);
      w.once('message', (m) => {
        w.off('exit', onExit);
        resolve(m as T);
      });
      w.send(msg);
    });
  const all = <T extends FromWorker>(msg: (i: number) => ToWorker) => Promise.all(workers.map((w, i) => ask<T>(w, msg(i))));
  const url = `ws://127.0.0.1:${port}/ws`;
  const clients = per * opts.workers;

  const stopAll = () => {
    for (const w of workers) w.kill('SIGKILL');
    child.kill('SIGKILL');
  };
  try {
    return await measure();
  } finally {
    stopAll();
  }

  async function measure() {
    const t0 = performance.now();
    await all(() => ({ cmd: 'connect', url, clients: per, target }));
    const connectS = (performance.now() - t0) / 1000;
    const joins = await all<{ done: 'join'; rtts: number[]; failures: number }>(() => ({ cmd: 'join', rate: opts.joinRate / opts.workers }));
    const joined = procStat(child.pid!);
    await sleep(opts.steadyS * 1000);
    const steady = procStat(child.pid!);
    const churn = await all<{ done: 'churn'; rtts: number[]; failures: number }>(() => ({ cmd: 'churn', rate: opts.joinRate / opts.workers }));
    await all(() => ({ cmd: 'close' }));

    const rtts = [...joins, ...churn].flatMap((j) => j.rtts).sort((a, b) => a - b);
    const failures = [...joins, ...churn].reduce((n, j) => n + j.failures, 0);
    return {
      target,
      clients,
      rooms: clients / ROOM_SIZE,
      connectS: Number(connectS.toFixed(1)),
      joins: rtts.length,
      failures,
      joinP50ms: Number(percentile(rtts, 50).toFixed(2)),
      joinP99ms: Number(percentile(rtts, 99).toFixed(2)),
      steadyCpuPercent: Number((((steady.cpuSeconds - joined.cpuSeconds) / opts.steadyS) * 100).toFixed(1)),
      rssMiB: Number((joined.rssBytes / 2 ** 20).toFixed(0)),
      rssPerConnKiB: Number(((joined.rssBytes - base.rssBytes) / clients / 1024).toFixed(1)),
      cpuMsPerConnPerMin: Number((((steady.cpuSeconds - joined.cpuSeconds) / opts.steadyS) * 60_000 / clients).toFixed(3)),
    };
  }
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1]! : fallback;
  };
  const sizes = arg('sizes', '5000,19900').split(',').map(Number);
  const opts = {
    workers: Number(arg('workers', '4')),
    joinRate: Number(arg('join-rate', '1000')),
    steadyS: Number(arg('steady', '10')),
    statsEvery: Number(arg('stats-every', '2000')),
  };
  // One socket is one file descriptor in the server process: its open-files limit caps the clients.
  const nofile = /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, open files soft/hard ${nofile?.[1]}/${nofile?.[2]}; ` +
      `server on CPU 0, ${opts.workers} client processes on CPU 1`,
  );
  console.log(`options: ${JSON.stringify(opts)}, ${ROOM_SIZE} clients a room, stats_report every ${opts.statsEvery} ms per client`);
  for (const size of sizes) {
    for (const target of ['echo', 'liveroom'] as Target[]) {
      try {
        console.log(JSON.stringify(await runSize(target, size, opts)));
      } catch (err) {
        console.log(JSON.stringify({ target, clients: size, failed: String(err) }));
      }
    }
  }
}

if (process.argv.includes('--worker')) void worker();
else await main();
