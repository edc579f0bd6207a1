// A password-protected private room in real Chromium: the broadcaster sets a
// password and hides the room, the viewer is asked for the password, gets in,
// and is told when the broadcaster removes it.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.js';
import { launchChromium, newPage } from './browser.js';
import { roomCode, videoHeight, waitForFrames } from './app.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  browser = await launchChromium();
});
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await server?.close();
});

describe('password, private room, remove viewer', () => {
  it('the viewer is asked for the password, watches, and is told when removed', async () => {
    const b = await newPage(browser, server.httpUrl);
    const v = await newPage(browser, server.httpUrl);
    contexts.push(b.context, v.context);
    const broadcaster = b.page;
    const viewer = v.page;

    await broadcaster.goto('/#/broadcast');
    await expect.poll(() => videoHeight(broadcaster, 'local-video'), { timeout: 15_000 }).toBeGreaterThan(0);
    await broadcaster.getByTestId('room-password').fill('芝麻 open');
    await broadcaster.getByTestId('private-room').check();
    await broadcaster.getByTestId('go-live').click();
    const code = await roomCode(broadcaster);
    const { rooms } = (await (await fetch(`${server.httpUrl}/api/rooms`)).json()) as { rooms: { room_id: string }[] };
    expect(rooms.map((r) => r.room_id)).not.toContain(code);

    await viewer.goto(`/#/watch/${code}`);
    await expect.poll(() => viewer.getByTestId('error-message').textContent(), { timeout: 10_000 }).toMatch(/needs a password/i);
    await viewer.getByTestId('join-password').fill('wrong');
    await viewer.getByTestId('join').click();
    await expect.poll(() => viewer.getByTestId('error-message').textContent(), { timeout: 10_000 }).toMatch(/wrong password/i);
    await viewer.getByTestId('join-password').fill('芝麻 open');
    await viewer.getByTestId('join').click();
    await waitForFrames(viewer, 'remote-video');

    await broadcaster.getByTestId('remove-viewer').click();
    await expect.poll(() => viewer.getByTestId('error-message').textContent(), { timeout: 10_000 }).toMatch(/removed you/i);
    await expect.poll(() => broadcaster.getByTestId('viewer-count').textContent(), { timeout: 10_000 }).toContain('0');
  });
});
