// The latency prerequisites in real Chromium (never timings): the offer goes
// out on viewer_joined before anything else, from a spare peer connection that
// is replaced but never multiplied; the viewer's connection exists before the
// offer lands, without a candidate pool (see prepareConnection in
// src/web/watch/session.ts); the viewer's receivers carry the jitter-buffer target.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { TestClient, joinRoom } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { launchChromium, newPage } from './browser.js';
import { goLive, instrumentPeerConnections, waitForFrames } from './app.js';
import { JITTER_BUFFER_TARGET_MS } from '../../src/web/watch/session.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const clients: TestClient[] = [];

/** Page script: every signalling message the page sends or receives, in order, as "in type" / "out type target". */
function logSignalling(): void {
  const log: string[] = [];
  (window as unknown as { __ws: string[] }).__ws = log;
  const parse = (data: unknown) => (typeof data === 'string' ? (JSON.parse(data) as { type: string; target_id?: string; viewer_id?: string }) : null);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (this: WebSocket, data) {
    const m = parse(data);
    if (m) log.push(`out ${m.type} ${m.target_id ?? ''}`.trim());
    return send.call(this, data);
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('message', (e) => {
        const m = parse(e.data);
        if (m) log.push(`in ${m.type} ${m.viewer_id ?? ''}`.trim());
      });
    }
  } as typeof WebSocket;
}

async function open(): Promise<Page> {
  const { context, page } = await newPage(browser, server.httpUrl);
  await context.addInitScript(instrumentPeerConnections);
  await context.addInitScript(logSignalling);
  contexts.push(context);
  return page;
}

const wsLog = (page: Page) => page.evaluate(() => (window as unknown as { __ws: string[] }).__ws);
const openPcs = (page: Page) =>
  page.evaluate(() => (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((pc) => pc.signalingState !== 'closed').length);

/** What the broadcaster sent next after the viewer_joined about `viewerId`. */
async function firstSentAfterJoin(page: Page, viewerId: string): Promise<string | undefined> {
  const log = await wsLog(page);
  const joined = log.indexOf(`in viewer_joined ${viewerId}`);
  expect(joined, log.join('\n')).toBeGreaterThanOrEqual(0);
  return log.slice(joined + 1).find((l) => l.startsWith('out '));
}

beforeAll(async () => {
  server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  browser = await launchChromium();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('latency prerequisites', () => {
  it('the broadcaster sends the offer on viewer_joined before any other message, from one spare connection that is replaced, not multiplied', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p', 'topology=p2p');
    // The spare is made at once after going live: one connection, no viewer.
    await expect.poll(() => openPcs(broadcaster)).toBe(1);

    const first = await TestClient.connect(server.wsUrl);
    clients.push(first);
    await joinRoom(first, code);
    const offer = await first.next('offer');
    expect(await firstSentAfterJoin(broadcaster, first.id)).toBe(`out offer ${first.id}`);
    // Offered ahead of time, the offer already carries its candidates (later ones trickle).
    expect(offer.sdp.sdp).toMatch(/^a=candidate:/m);

    // The next spare comes a moment later (not while the first viewer connects): still the offer first.
    await expect.poll(() => openPcs(broadcaster), { timeout: 10_000 }).toBe(2);
    const second = await TestClient.connect(server.wsUrl);
    clients.push(second);
    await joinRoom(second, code);
    await second.next('offer');
    expect(await firstSentAfterJoin(broadcaster, second.id)).toBe(`out offer ${second.id}`);
    await expect.poll(() => openPcs(broadcaster), { timeout: 10_000 }).toBe(3);

    // Viewers gone: their connections close; the one spare stays.
    await first.close();
    await second.close();
    await expect.poll(() => openPcs(broadcaster), { timeout: 10_000 }).toBe(1);
  });

  it('the viewer makes its connection at room_joined, before the offer, with no candidate pool, and sets the jitter-buffer target on its receivers', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p', 'topology=p2p');
    const viewer = await open();
    await viewer.goto(`/#/watch/${code}`);
    await waitForFrames(viewer, 'remote-video');
    const log = await wsLog(viewer);
    const { pcs, pool, targets } = await viewer.evaluate(() => {
      const all = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
      return {
        pcs: all.length,
        pool: all[0]!.getConfiguration().iceCandidatePoolSize,
        targets: all[0]!.getReceivers().map((r) => [r.track.kind, r.jitterBufferTarget]),
      };
    });
    expect(pcs).toBe(1);
    expect(pool ?? 0).toBe(0);
    expect(Object.fromEntries(targets)).toEqual({ audio: JITTER_BUFFER_TARGET_MS, video: JITTER_BUFFER_TARGET_MS });
    // The viewer trickles its candidates; the broadcaster's spare had gathered
    // its own before the offer, which carries them (see the test above).
    expect(log.some((l) => l.startsWith('out ice_candidate'))).toBe(true);
    expect(log.indexOf('in room_joined')).toBeLessThan(log.indexOf('in offer'));
  });
});
