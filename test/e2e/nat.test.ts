// NAT traversal on real network topologies: hosts are network namespaces, a
// router namespace forwards between networks and nftables blocks paths,
// coturn and the LiveRoom server run on a "public" host, and each Chromium runs
// inside its own host. Every case checks the selected candidate pair from
// getStats, that video frames decode, and what the page says.
//
//            pub 10.77.0.2 (coturn :3478, LiveRoom :8080)
//                 │
//   LAN A ── br0 router ── LAN B
//   a1 10.77.1.11 │ 10.77.0.1   b1 10.77.2.11
//   a2 10.77.1.12 │
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath } from './screenshots.js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { coturnConfig } from '../../src/dev/coturn.js';
import { selfSignedCertificate } from '../../src/server/tls.js';
import { goLive, instrumentPeerConnections, videoState, waitForFrames, watch } from './app.js';
import { CHROMIUM, CHROMIUM_FLAGS, newPage } from './browser.js';
import { removeStaleTopologies, requireTopologyTools, Topology, waitForOutput } from './netns.js';
import { selectedPair } from '../helpers/page-stats.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PUB = '10.77.0.2';
const BASE = `http://${PUB}:8080`;
const SECRET = randomBytes(18).toString('base64url');
const TURN = `turn:${PUB}:3478`;
const LAN_A = '10.77.1.0/24';
const LAN_B = '10.77.2.0/24';
/** The pages update once a second, on a machine that other test suites share. */
const SLOW = { timeout: 15_000 };

let topo: Topology;
const ns = { r: '', pub: '', a1: '', a2: '', b1: '' };
const browsers = new Map<string, Browser>();
const contexts: BrowserContext[] = [];

function build(): void {
  topo = new Topology();
  for (const name of Object.keys(ns) as (keyof typeof ns)[]) ns[name] = topo.addHost(name);
  topo.exec(ns.r, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  topo.link(ns.r, 'pub0', '10.77.0.1/24', ns.pub, 'eth0', `${PUB}/24`);
  // LAN A is one Ethernet segment: a bridge in the router, with a1 and a2 on it.
  topo.exec(ns.r, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
  topo.exec(ns.r, ['ip', 'addr', 'add', '10.77.1.1/24', 'dev', 'br0']);
  topo.exec(ns.r, ['ip', 'link', 'set', 'br0', 'up']);
  for (const [host, port, addr] of [
    [ns.a1, 'a1p', '10.77.1.11/24'],
    [ns.a2, 'a2p', '10.77.1.12/24'],
  ] as const) {
    topo.link(ns.r, port, null, host, 'eth0', addr);
    topo.exec(ns.r, ['ip', 'link', 'set', port, 'master', 'br0']);
    topo.exec(host, ['ip', 'route', 'add', 'default', 'via', '10.77.1.1']);
  }
  topo.link(ns.r, 'b1p', '10.77.2.1/24', ns.b1, 'eth0', '10.77.2.11/24');
  topo.exec(ns.b1, ['ip', 'route', 'add', 'default', 'via', '10.77.2.1']);
  topo.exec(ns.pub, ['ip', 'route', 'add', 'default', 'via', '10.77.0.1']);
  // Empty chains now; each test adds its drops and afterEach flushes them.
  topo.nft(ns.r, 'table inet lr { chain pass { type filter hook forward priority 0; policy accept; }; }');
  topo.nft(ns.b1, 'table inet lr { chain leave { type filter hook output priority 0; policy accept; }; }');
  // LAN B may sit behind a NAT (the network test needs one for STUN to show a public address).
  topo.nft(ns.r, 'table ip lrnat { chain post { type nat hook postrouting priority 100; policy accept; }; }');
}

async function startServices(): Promise<void> {
  const conf = path.join(topo.dir, 'turnserver.conf');
  // turns: with a certificate made here (the same code as `--https`).
  await selfSignedCertificate(topo.dir, [PUB]);
  writeFileSync(
    conf,
    coturnConfig({
      secret: SECRET,
      listeningIps: [PUB],
      certFile: path.join(topo.dir, 'tls-cert.pem'),
      keyFile: path.join(topo.dir, 'tls-key.pem'),
      verbose: true,
      pidFile: path.join(topo.dir, 'turn.pid'),
    }),
  );
  const coturn = topo.spawn(ns.pub, ['turnserver', '-c', conf]);
  await waitForOutput(coturn, /TCP listener opened on : 10\.77\.0\.2:3478/, 'coturn');
  const server = topo.spawn(ns.pub, [process.execPath, path.join(ROOT, 'dist/server/main.js')], {
    PATH: process.env.PATH,
    HOST: PUB,
    PORT: '8080',
    STATIC_DIR: path.join(ROOT, 'dist/web'),
    STUN_URLS: `stun:${PUB}:3478`,
    TURN_URLS: `${TURN}?transport=udp,${TURN}?transport=tcp,turns:${PUB}:5349?transport=tcp`,
    TURN_SECRET: SECRET,
  });
  await waitForOutput(server, /listening on port 8080/, 'LiveRoom server');
}

async function browserIn(host: string): Promise<Browser> {
  let browser = browsers.get(host);
  if (!browser) {
    browser = await chromium.launch({
      executablePath: topo.chromiumWrapper(host, CHROMIUM),
      // A page on http://10.77.0.2 is not a secure origin: without this, no camera. And coturn's
      // turns: certificate is self-signed, which Chromium refuses (measured) unless told not to:
      // the flag stands in for a certificate from a real CA.
      args: [...CHROMIUM_FLAGS, `--unsafely-treat-insecure-origin-as-secure=${BASE}`, '--ignore-certificate-errors'],
      headless: true,
    });
    browsers.set(host, browser);
  }
  return browser;
}

async function open(host: string, locale = 'en-US'): Promise<Page> {
  const { context, page } = await newPage(await browserIn(host), BASE, locale);
  await context.addInitScript(instrumentPeerConnections);
  contexts.push(context);
  return page;
}

interface RungRecord {
  rung: string;
  startedMs: number;
  connectedMs?: number;
  leftBecause?: string;
}

async function ladderHistory(page: Page): Promise<RungRecord[]> {
  const raw = await page.getByTestId('connection-path').getAttribute('data-history');
  return raw ? (JSON.parse(raw) as RungRecord[]) : [];
}

async function text(page: Page, testid: string): Promise<string> {
  return (await page.getByTestId(testid).textContent()) ?? '';
}

/** Broadcaster in one host goes live, a viewer in another opens the watch link. */
async function startWatching(from: string, to: string, locale = 'en-US', query = '', broadcastQuery = '') {
  const broadcaster = await open(from);
  const code = await goLive(broadcaster, '480p', broadcastQuery);
  const viewer = await open(to, locale);
  await viewer.goto('/');
  await viewer.goto(`/#/watch/${code}${query}`);
  return { broadcaster, viewer, code };
}

/** startWatching, returning once the viewer plays. */
async function broadcastAndWatch(from: string, to: string, locale = 'en-US', frameTimeout = 30_000, query = '') {
  const pages = await startWatching(from, to, locale, query);
  await waitForFrames(pages.viewer, 'remote-video', frameTimeout);
  return pages;
}

async function expectDecoding(viewer: Page) {
  await expect.poll(async () => (await selectedPair(viewer))?.framesDecoded ?? 0, { timeout: 15_000 }).toBeGreaterThan(10);
  return (await selectedPair(viewer))!;
}

function logLadder(label: string, history: RungRecord[]): void {
  const last = history.at(-1)!;
  console.log(`[ladder] ${label}: ${history.map((r) => `${r.rung}${r.leftBecause ? `(${r.leftBecause})` : ''}@${r.startedMs}ms`).join(' → ')}; connected after ${last.startedMs + (last.connectedMs ?? 0)} ms`);
}

const blockBetweenLans = `add rule inet lr pass ip saddr ${LAN_A} ip daddr ${LAN_B} drop
add rule inet lr pass ip saddr ${LAN_B} ip daddr ${LAN_A} drop`;
// The viewer keeps the signalling socket and nothing else on the public host: no TURN, and no
// way to a relay candidate of the broadcaster's either.
const blockViewerTurn = `add rule inet lr leave ip daddr ${PUB} tcp dport != 8080 drop
add rule inet lr leave ip daddr ${PUB} meta l4proto udp drop`;

beforeAll(async () => {
  requireTopologyTools();
  removeStaleTopologies();
  build();
  await startServices();
}, 60_000);

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  topo.nft(ns.r, 'flush chain inet lr pass');
  topo.nft(ns.b1, 'flush chain inet lr leave');
  topo.nft(ns.r, 'flush chain ip lrnat post');
});

afterAll(async () => {
  await Promise.all([...browsers.values()].map((b) => b.close().catch(() => undefined)));
  browsers.clear();
  await topo?.destroy();
});

describe('NAT traversal on real topologies', () => {
  it('same LAN: video over a host pair, p2p', async () => {
    const { broadcaster, viewer } = await broadcastAndWatch(ns.a1, ns.a2);
    const pair = await expectDecoding(viewer);
    expect(pair.local).toMatchObject({ type: 'host', address: '10.77.1.12' });
    expect(pair.remote).toMatchObject({ type: 'host', address: '10.77.1.11' });
    await expect.poll(() => text(viewer, 'connection-type'), SLOW).toContain('p2p');
    await expect.poll(() => text(viewer, 'connection-path'), SLOW).toContain('direct (peer-to-peer)');
    await expect.poll(() => text(broadcaster, 'viewer-path'), SLOW).toContain('p2p');
    logLadder('p2p (same LAN)', await ladderHistory(viewer));
  });

  it('?via=turn on a LAN where direct works: TURN only, and the broadcaster never learns the viewer\'s address', async () => {
    const { broadcaster, viewer } = await broadcastAndWatch(ns.a1, ns.a2, 'en-US', 30_000, '?via=turn');
    const pair = await expectDecoding(viewer);
    expect(pair.local, JSON.stringify(pair)).toMatchObject({ type: 'relay' });
    // Both TURN allocations (over UDP and over TCP) make a relay pair; under load the TCP one can be
    // the first to work and carry the first frames. ICE then moves to the better UDP pair by itself.
    await expect.poll(async () => (await selectedPair(viewer))?.local.relayProtocol, SLOW).toBe('udp');
    await expect.poll(() => text(viewer, 'connection-type'), SLOW).toContain('turn');
    const history = await ladderHistory(viewer);
    expect(history.map((r) => r.rung)).toEqual(['turn']);
    // Every candidate the broadcaster was given for this viewer is the TURN server's.
    const remotes = await broadcaster.evaluate(async () => {
      const out: { type: string; address: string }[] = [];
      for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
        (await pc.getStats()).forEach((s: Record<string, unknown>) => {
          if (s.type === 'remote-candidate') out.push({ type: String(s.candidateType), address: String(s.address) });
        });
      }
      return out;
    });
    expect(remotes.length).toBeGreaterThan(0);
    expect(remotes.every((c) => c.type === 'relay' && c.address === PUB), JSON.stringify(remotes)).toBe(true);
    logLadder('?via=turn (same LAN)', history);
  });

  it("a viewer's network drops for 6 s and comes back: the picture returns by itself (measured)", async () => {
    const { viewer } = await broadcastAndWatch(ns.a1, ns.b1);
    await expectDecoding(viewer);
    // The router drops everything to and from the viewer's network: media, ICE checks, signalling.
    topo.nft(ns.r, `add rule inet lr pass ip saddr ${LAN_B} drop
add rule inet lr pass ip daddr ${LAN_B} drop`);
    await viewer.waitForTimeout(5_000);
    const during = (await videoState(viewer, 'remote-video')).frames;
    await viewer.waitForTimeout(1_000);
    const frozen = (await videoState(viewer, 'remote-video')).frames;
    // The drop really cut the picture (at most a frame already in flight).
    expect(frozen - during).toBeLessThanOrEqual(1);
    topo.nft(ns.r, 'flush chain inet lr pass');
    const restored = Date.now();
    await expect.poll(async () => (await videoState(viewer, 'remote-video')).frames, { timeout: 20_000, interval: 100 }).toBeGreaterThan(frozen + 5);
    console.log(`[resume] viewer network drop of 6 s: video back ${Date.now() - restored} ms after the network`);
    await expectDecoding(viewer);
  });

  it('separate networks with no route between them, both reaching the TURN host: TURN over UDP', async () => {
    topo.nft(ns.r, blockBetweenLans);
    const { broadcaster, viewer } = await broadcastAndWatch(ns.a1, ns.b1);
    const pair = await expectDecoding(viewer);
    const relays = [pair.local, pair.remote].filter((c) => c.type === 'relay');
    expect(relays.length, JSON.stringify(pair)).toBeGreaterThan(0);
    if (pair.local.type === 'relay') expect(pair.local.relayProtocol, JSON.stringify(pair)).toBe('udp');
    expect(pair.local.protocol, JSON.stringify(pair)).toBe('udp');
    await expect.poll(() => text(viewer, 'connection-type'), SLOW).toContain('turn');
    await expect.poll(() => text(viewer, 'connection-path'), SLOW).toMatch(/TURN relay over UDP/);
    await expect.poll(() => text(broadcaster, 'viewer-path'), SLOW).toContain('turn');
    logLadder('TURN/UDP (no route between LANs)', await ladderHistory(viewer));
  });

  it("the viewer's UDP is dropped: TURN over TCP, told in Chinese", async () => {
    topo.nft(ns.r, blockBetweenLans);
    topo.nft(ns.b1, 'add rule inet lr leave oifname != "lo" meta l4proto udp drop');
    // turns: (TLS on 5349) is closed too, so the one way out is TURN over plain TCP.
    topo.nft(ns.b1, 'add rule inet lr leave tcp dport 5349 drop');
    const { broadcaster, viewer } = await broadcastAndWatch(ns.a1, ns.b1, 'zh-CN');
    const pair = await expectDecoding(viewer);
    expect(pair.local).toMatchObject({ type: 'relay', relayProtocol: 'tcp' });
    await expect.poll(() => text(viewer, 'connection-type'), SLOW).toMatch(/turn.*\(tcp\)/);
    await expect.poll(() => text(viewer, 'connection-path'), SLOW).toContain('经 TURN 中继（TCP）');
    await viewer.screenshot({ path: screenshotPath('viewer-turn-tcp-zh.png') });
    await expect.poll(() => text(broadcaster, 'viewer-path'), SLOW).toContain('turn');
    logLadder('TURN/TCP (viewer UDP dropped)', await ladderHistory(viewer));
  });

  it('coturn refuses expired and forged TURN credentials, and allocates with good ones', async () => {
    const page = await open(ns.b1);
    await page.goto('/');
    const user = (expiry: number) => `${expiry}:nat-test`;
    const hmac = (secret: string, u: string) => createHmac('sha1', secret).update(u).digest('base64');
    const now = Math.floor(Date.now() / 1000);
    const cases = {
      good: { username: user(now + 600), credential: hmac(SECRET, user(now + 600)) },
      expired: { username: user(now - 60), credential: hmac(SECRET, user(now - 60)) },
      forged: { username: user(now + 600), credential: hmac('not-the-secret', user(now + 600)) },
    };
    const results = await page.evaluate(
      async ({ cases, urls }) => {
        async function allocate(username: string, credential: string, url: string) {
          const pc = new RTCPeerConnection({ iceServers: [{ urls: url, username, credential }], iceTransportPolicy: 'relay' });
          const relays: string[] = [];
          const errors: number[] = [];
          pc.onicecandidate = (e) => e.candidate && relays.push(e.candidate.candidate);
          pc.onicecandidateerror = (e) => errors.push((e as RTCPeerConnectionIceErrorEvent).errorCode);
          pc.createDataChannel('probe');
          await pc.setLocalDescription(await pc.createOffer());
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 8_000);
            pc.onicegatheringstatechange = () => {
              if (pc.iceGatheringState === 'complete') {
                clearTimeout(timer);
                resolve();
              }
            };
          });
          pc.close();
          return { relays: relays.length, errors };
        }
        const out: Record<string, { relays: number; errors: number[] }> = {};
        for (const [name, c] of Object.entries(cases)) {
          for (const url of urls) out[`${name} ${url}`] = await allocate(c.username, c.credential, url);
        }
        return out;
      },
      { cases, urls: [`${TURN}?transport=udp`, `${TURN}?transport=tcp`] },
    );
    for (const [name, r] of Object.entries(results)) {
      if (name.startsWith('good')) expect(r.relays, name).toBeGreaterThan(0);
      else {
        expect(r.relays, name).toBe(0);
        expect(r.errors, name).toContain(401);
      }
    }
  });

  it('the ladder: no direct path and TURN blocked at first, the ICE restart over TURN connects', async () => {
    topo.nft(ns.r, blockBetweenLans);
    topo.nft(ns.b1, blockViewerTurn);
    const { broadcaster, viewer } = await startWatching(ns.a1, ns.b1);
    await expect.poll(() => viewer.getByTestId('connection-path').getAttribute('data-rung'), { timeout: 30_000 }).toBe('turn');
    await expect.poll(() => text(broadcaster, 'viewer-path'), SLOW).toContain('turn');
    topo.nft(ns.b1, 'flush chain inet lr leave');
    await waitForFrames(viewer, 'remote-video', 40_000);
    const pair = await expectDecoding(viewer);
    // One end at least is a TURN allocation. (Chromium applies an iceTransportPolicy changed by
    // setConfiguration to the candidates it signals, but may still check from a host port, so
    // the viewer's relay can pair with the broadcaster's host address: measured.)
    expect([pair.local.type, pair.remote.type], JSON.stringify(pair)).toContain('relay');
    const history = await ladderHistory(viewer);
    expect(history.map((r) => [r.rung, r.leftBecause])).toEqual([
      ['direct', 'timeout'],
      ['turn', undefined],
    ]);
    expect(history[1]!.connectedMs).toBeGreaterThan(0);
    await expect.poll(() => text(viewer, 'connection-path'), SLOW).toMatch(/^no direct connection within \d+ s → TURN relay over UDP/);
    await expect.poll(() => text(viewer, 'connection-type'), SLOW).toContain('turn');
    logLadder('ICE restart over TURN', history);
  });

  it('neither a direct path nor TURN: the viewer asks for the server relay and says why', async () => {
    topo.nft(ns.r, blockBetweenLans);
    topo.nft(ns.b1, blockViewerTurn);
    const { broadcaster, viewer } = await startWatching(ns.a1, ns.b1);
    await expect.poll(() => text(viewer, 'connection-type'), { timeout: 60_000 }).toContain('relay');
    await expect.poll(() => text(viewer, 'connection-path'), SLOW).toMatch(
      /^no direct connection within \d+ s → TURN relay did not connect within \d+ s → server relay requested/,
    );
    await expect.poll(() => text(viewer, 'error-message'), SLOW).toContain('Neither a direct connection nor the TURN relay');
    await expect.poll(() => text(broadcaster, 'viewer-path'), SLOW).toContain('relay');
    const history = await ladderHistory(viewer);
    expect(history.map((r) => r.rung)).toEqual(['direct', 'turn', 'relay']);
    console.log(`[ladder] relay requested after ${history[2]!.startedMs} ms`);
  });

  it('the network test page says what works: signalling, STUN behind a NAT, TURN over UDP, TCP and TLS', async () => {
    topo.nft(ns.r, `add rule ip lrnat post ip saddr ${LAN_B} oifname "pub0" masquerade`);
    const page = await open(ns.b1);
    await page.goto('/');
    await page.getByTestId('network-test').click();
    await expect.poll(() => page.getByTestId('network-summary').getAttribute('data-done'), { timeout: 30_000 }).toBe('true');
    const checks = await page.getByTestId('network-check').evaluateAll((els) =>
      els.map((e) => ({ kind: e.getAttribute('data-kind'), status: e.getAttribute('data-status'), transport: e.getAttribute('data-transport'), text: e.textContent })),
    );
    console.log(checks.map((c) => c.text).join('\n'));
    expect(checks.find((c) => c.kind === 'signalling')?.status).toBe('ok');
    const stun = checks.find((c) => c.kind === 'stun')!;
    expect(stun.status).toBe('ok');
    expect(stun.text).toContain('10.77.0.1'); // the router's address: the NAT's outside
    for (const transport of ['udp', 'tcp', 'tls']) {
      expect(checks.find((c) => c.kind === 'turn' && c.transport === transport)?.status, transport).toBe('ok');
    }
    await page.screenshot({ path: screenshotPath('network-test.png') });
    expect(await text(page, 'network-summary')).toMatch(/Viewers on any network can connect: the TURN relay works \((?=.*UDP)(?=.*TCP)(?=.*TLS).*\)/);
  });
});

describe('the SFU on real topologies', () => {
  /** The longest wait between two frames the viewer's <video> showed, from now until `ms` later. */
  async function longestFrameGap(viewer: Page, ms: number): Promise<number> {
    return viewer.evaluate(
      (ms) =>
        new Promise<number>((resolve) => {
          const video = document.querySelector<HTMLVideoElement>('[data-testid=remote-video]')!;
          const end = performance.now() + ms;
          let last = performance.now();
          let longest = 0;
          const frame = (now: number) => {
            longest = Math.max(longest, now - last);
            last = now;
            if (now < end) video.requestVideoFrameCallback(frame);
            else resolve(Math.round(longest));
          };
          video.requestVideoFrameCallback(frame);
        }),
      ms,
    );
  }

  async function inboundVideoLoss(viewer: Page): Promise<{ lost: number; nacks: number }> {
    return viewer.evaluate(async () => {
      let lost = 0;
      let nacks = 0;
      for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
        (await pc.getStats()).forEach((s: Record<string, unknown>) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') {
            lost += Number(s.packetsLost ?? 0);
            nacks += Number(s.nackCount ?? 0);
          }
        });
      }
      return { lost, nacks };
    });
  }

  it('5 % loss on the way from the SFU to a viewer: retransmissions (NACK) keep every freeze under 1 s', async () => {
    const { viewer } = await startWatching(ns.a1, ns.b1, 'en-US', '', 'topology=sfu');
    await waitForFrames(viewer, 'remote-video', 30_000);
    await expect.poll(() => text(viewer, 'connection-type'), SLOW).toContain('sfu');
    topo.nft(ns.r, `add rule inet lr pass ip saddr ${PUB} ip daddr ${LAN_B} meta l4proto udp numgen random mod 100 < 5 drop`);
    const longest = await longestFrameGap(viewer, 15_000);
    const { lost, nacks } = await inboundVideoLoss(viewer);
    console.log(`[sfu] 5 % loss towards the viewer for 15 s: ${nacks} NACKs sent, ${lost} packets never recovered, longest gap between frames ${longest} ms`);
    // The loss is there (the viewer asked again for what it missed), and the SFU resent it.
    expect(nacks).toBeGreaterThan(0);
    expect(longest).toBeLessThan(1_000);
  });

  it('a viewer of an SFU room with neither UDP nor TURN plays through the server relay, fed from the SFU', async () => {
    topo.nft(ns.b1, blockViewerTurn);
    const { broadcaster, viewer } = await startWatching(ns.a1, ns.b1, 'en-US', '', 'topology=sfu');
    await waitForFrames(viewer, 'remote-video', 40_000);
    await expect.poll(() => text(viewer, 'connection-type'), SLOW).toContain('relay');
    expect(await viewer.getByTestId('remote-video').evaluate((el) => el.tagName)).toBe('CANVAS');
    // The broadcaster published once, to the SFU; the server made the relay's frames from that.
    await expect.poll(() => text(broadcaster, 'viewers-table'), SLOW).toMatch(/sfu|relay/);
  });
});
