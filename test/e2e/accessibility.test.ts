// Accessibility in real Chromium: axe-core (the npm package, injected into the
// real pages) finds no serious or critical violation on any page or state, in
// Chinese with the dark colour scheme and in English with the light one; and a
// broadcast is started and watched, and the chat used, with the keyboard alone,
// with a visible focus ring on every stop.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectAccessible } from './axe.js';
import { launchChromium, newPage } from './browser.js';
import { roomCode, waitForFrames } from './app.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function open(locale: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const { context, page } = await newPage(browser, server.httpUrl, locale);
  contexts.push(context);
  await page.emulateMedia({ colorScheme });
  return page;
}

beforeAll(async () => {
  server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  browser = await launchChromium();
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('axe-core', () => {
  for (const [locale, scheme] of [
    ['zh-CN', 'dark'],
    ['en-US', 'light'],
  ] as const) {
    it(`no serious or critical violation on any page or state (${locale}, ${scheme})`, async () => {
      const where = (state: string) => `${state} (${locale}, ${scheme})`;
      const broadcaster = await open(locale, scheme);
      await broadcaster.goto('/');
      await expect.poll(() => broadcaster.getByTestId('room-list').evaluate((el) => el.previousElementSibling?.hasAttribute('hidden') === false || el.children.length > 0)).toBe(true);
      await expectAccessible(broadcaster, where('home'));

      await broadcaster.getByTestId('start-broadcast').click();
      await expect.poll(() => broadcaster.getByTestId('camera-select').locator('option').count(), { timeout: 15_000 }).toBeGreaterThan(0);
      await expectAccessible(broadcaster, where('broadcast set-up'));
      await broadcaster.getByTestId('go-live').click();
      const code = await roomCode(broadcaster);
      await expectAccessible(broadcaster, where('broadcast live, no viewers'));

      const viewer = await open(locale, scheme);
      await viewer.goto('/#/watch');
      await expectAccessible(viewer, where('watch entry'));
      await viewer.getByTestId('room-input').fill('000000');
      await viewer.getByTestId('join').click();
      await expect.poll(() => viewer.getByTestId('error-message').isVisible(), { timeout: 10_000 }).toBe(true);
      await expectAccessible(viewer, where('watch entry, unknown room'));

      await viewer.getByTestId('room-input').fill(code);
      await viewer.getByTestId('join').click();
      await waitForFrames(viewer, 'remote-video');
      await viewer.getByTestId('chat-input').fill('你好 hello');
      await viewer.getByTestId('chat-send').click();
      await expect.poll(() => broadcaster.getByTestId('chat-message').count()).toBe(1);
      await expect.poll(() => viewer.getByTestId('stat-fps').textContent(), { timeout: 10_000 }).toMatch(/\d/);
      await expectAccessible(viewer, where('watching, with a chat message'));

      await expect.poll(() => broadcaster.getByTestId('viewers-table').isVisible(), { timeout: 10_000 }).toBe(true);
      await broadcaster.getByTestId('record').click();
      await expect.poll(() => broadcaster.getByTestId('recording-timer').isVisible()).toBe(true);
      await expectAccessible(broadcaster, where('broadcast live, a viewer, chat, recording'));
      await broadcaster.getByTestId('record').click();
      await expect.poll(() => broadcaster.getByTestId('download-recording').isVisible(), { timeout: 10_000 }).toBe(true);
      await expectAccessible(broadcaster, where('broadcast live, a recording to download'));

      await viewer.goto('/#/network-test');
      await expect.poll(() => viewer.getByTestId('network-summary').getAttribute('data-done'), { timeout: 30_000 }).toBe('true');
      await expectAccessible(viewer, where('network test'));
    });
  }
});

/** Tab (forward) until the element with this test id has the focus; it must show a focus ring. */
async function tabTo(page: Page, testid: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if (await page.evaluate((id) => (document.activeElement as HTMLElement | null)?.dataset.testid === id, testid)) {
      const ring = await page.evaluate(() => {
        const style = getComputedStyle(document.activeElement!);
        return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
      });
      expect(ring.style, `focus ring on ${testid}`).not.toBe('none');
      expect(ring.width, `focus ring on ${testid}`).toBeGreaterThanOrEqual(2);
      return;
    }
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${testid}`);
}

/** Full-width digits with a space in the middle, as a Chinese input method may give them. */
function fullWidth(code: string): string {
  const wide = [...code].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');
  return `${wide.slice(0, 3)} ${wide.slice(3)}`;
}

describe('keyboard only', () => {
  it('broadcast → watch → chat → full screen, by keyboard; live regions for the viewer count and errors; pasted full-width codes', async () => {
    const broadcaster = await open('en-US');
    await broadcaster.goto('/');
    await tabTo(broadcaster, 'start-broadcast');
    await broadcaster.keyboard.press('Enter');
    await expect.poll(() => broadcaster.getByTestId('camera-select').locator('option').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await tabTo(broadcaster, 'go-live');
    await broadcaster.keyboard.press('Enter');
    const code = await roomCode(broadcaster);

    const viewer = await open('zh-CN');
    await viewer.goto('/');
    await tabTo(viewer, 'watch-broadcast');
    await viewer.keyboard.press('Enter');
    // The code box has the focus on arrival; typed full-width digits and a space become the code.
    await expect.poll(() => viewer.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe('room-input');
    await viewer.keyboard.type(fullWidth(code));
    expect(await viewer.getByTestId('room-input').inputValue()).toBe(code);
    // Pasted the same way, with a newline: the whole code lands (nothing cut at six characters first).
    await viewer.getByTestId('room-input').fill('');
    await viewer.getByTestId('room-input').evaluate((input, text) => {
      const data = new DataTransfer();
      data.setData('text', text);
      input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, `${fullWidth(code)}\n`);
    expect(await viewer.getByTestId('room-input').inputValue()).toBe(code);
    await viewer.keyboard.press('Enter');
    await waitForFrames(viewer, 'remote-video');

    // The viewer count and errors are live regions.
    expect(await viewer.getByTestId('viewer-count').evaluate((el) => el.closest('[aria-live]')?.getAttribute('aria-live'))).toBe('polite');
    expect(await broadcaster.getByTestId('viewer-count').evaluate((el) => el.closest('[aria-live]')?.getAttribute('aria-live'))).toBe('polite');
    expect(await viewer.getByTestId('error-message').getAttribute('role')).toBe('alert');

    await tabTo(viewer, 'fullscreen');
    await viewer.keyboard.press('Enter');
    await expect.poll(() => viewer.evaluate(() => document.fullscreenElement?.classList.contains('player') ?? false)).toBe(true);
    await viewer.keyboard.press('Enter');
    await expect.poll(() => viewer.evaluate(() => document.fullscreenElement)).toBeNull();

    await tabTo(viewer, 'unmute');
    await viewer.keyboard.press('Space');
    await expect.poll(() => viewer.getByTestId('unmute').textContent()).toContain('静音');

    await tabTo(viewer, 'chat-input');
    await viewer.keyboard.type('键盘 keyboard');
    await viewer.keyboard.press('Enter');
    await expect.poll(() => broadcaster.getByTestId('chat-message').allTextContents()).toEqual([expect.stringContaining('键盘 keyboard')]);
    await tabTo(broadcaster, 'chat-input');
    await broadcaster.keyboard.type('thanks');
    await tabTo(broadcaster, 'chat-send');
    await broadcaster.keyboard.press('Enter');
    await expect.poll(() => viewer.getByTestId('chat-message').count()).toBe(2);

    await tabTo(broadcaster, 'end-broadcast');
    await broadcaster.keyboard.press('Enter');
    await expect.poll(() => viewer.getByTestId('error-message').textContent(), { timeout: 10_000 }).toContain('主播结束了直播');
  });
});
