// The server restarts under a live broadcast (real Chromium, the server as a
// child process on a fixed port): SIGTERM tells the pages to come back, the new
// process reads the same room secret from the data directory, the broadcaster
// reclaims the same room code, the viewer rejoins (retrying while the room is
// not back yet), and video plays again. Measured and printed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { start, tempDataDir } from '../helpers/server-process.js';
import { launchChromium, newPage } from './browser.js';
import { expectAdvancing, frameAfter, goLive, instrumentPeerConnections, instrumentVideoFrames, pcCount, watch } from './app.js';

let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await browser?.close();
});

async function open(baseUrl: string): Promise<Page> {
  const { context, page } = await newPage(browser, baseUrl);
  await context.addInitScript(instrumentPeerConnections);
  await context.addInitScript(instrumentVideoFrames);
  contexts.push(context);
  return page;
}

describe('server restart', () => {
  it('the same room code comes back and the viewer plays again within 5 s of the server being back', async () => {
    const dataDir = tempDataDir();
    const env = { HOST: '127.0.0.1', DATA_DIR: dataDir, DRAIN_TIMEOUT: '3', RECONNECT_AFTER: '0.5' };
    const first = await start({ ...env, PORT: '0' });
    const baseUrl = `http://127.0.0.1:${first.port}`;
    const broadcaster = await open(baseUrl);
    const viewer = await open(baseUrl);
    const code = await goLive(broadcaster, '480p');
    await watch(viewer, code);
    expect(await pcCount(viewer)).toBe(1);

    const stopped = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const second = await start({ ...env, PORT: String(first.port) });
    const up = Date.now();

    // The room is back under the same code, live, with its viewer.
    await expect
      .poll(
        async () => {
          const { rooms } = (await (await fetch(`${baseUrl}/api/rooms`)).json()) as { rooms: { room_id: string; live: boolean; viewer_count: number }[] };
          return rooms.find((r) => r.room_id === code && r.live && r.viewer_count === 1) !== undefined;
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe(true);
    const roomBack = Date.now();
    // A fresh peer connection, negotiated through the new server, and frames on it.
    await expect.poll(() => pcCount(viewer), { timeout: 10_000, interval: 50 }).toBe(2);
    const frameAt = await frameAfter(viewer, roomBack);
    console.log(
      `server restart: room ${code} back ${roomBack - up} ms and viewer video on a new connection ${frameAt - up} ms after the new server listened ` +
        `(${frameAt - stopped} ms after SIGTERM, drain and start included)`,
    );
    expect(frameAt - up).toBeLessThanOrEqual(5_000);
    await expectAdvancing(viewer, 'remote-video');
    expect(await broadcaster.getByTestId('room-code').textContent()).toBe(code);
    expect(second.child.exitCode).toBeNull(); // still serving; stopped after the pages close
  });
});
