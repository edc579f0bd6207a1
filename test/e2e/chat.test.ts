// Chat in real Chromium: a broadcaster and two viewers (one on a phone layout,
// in Chinese) talk; hostile text stays text; blank and too-fast messages are
// refused with a sentence; a late joiner gets the history; the broadcaster
// deletes a message and removes a viewer. Screenshots of the chat on a desktop
// and a phone (docs/screenshots with UPDATE_SCREENSHOTS=1).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.js';
import { launchChromium, newPage } from './browser.js';
import { goLive, waitForFrames } from './app.js';
import { screenshotPath } from './screenshots.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function open(locale = 'en-US'): Promise<Page> {
  const { context, page } = await newPage(browser, server.httpUrl, locale);
  contexts.push(context);
  return page;
}

beforeAll(async () => {
  server = await startServer({ staticDir: path.join(ROOT, 'dist/web') });
  browser = await launchChromium();
});
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await server?.close();
});

/** The shown messages' texts, and each one's name. */
async function shown(page: Page): Promise<{ name: string; text: string }[]> {
  return page.getByTestId('chat-message').evaluateAll((items) =>
    items.map((li) => ({ name: li.querySelector('.chat-name')?.textContent ?? '', text: li.querySelector('.chat-text')?.textContent ?? '' })),
  );
}

async function say(page: Page, text: string, how: 'click' | 'enter' = 'click'): Promise<void> {
  await page.getByTestId('chat-input').fill(text);
  if (how === 'click') await page.getByTestId('chat-send').click();
  else await page.getByTestId('chat-input').press('Enter');
}

const HOSTILE = '<img src=x onerror="window.__pwned=1"><b>bold?</b> &amp;';

describe('chat', () => {
  it('a broadcaster and two viewers chat live; hostile text, blank and too-fast messages; history for a late joiner; moderation', async () => {
    const broadcaster = await open();
    const code = await goLive(broadcaster, '480p', 'topology=p2p');

    // Alice picks a name in the join form; the phone viewer (Chinese) keeps the default.
    const alice = await open();
    await alice.goto('/#/watch');
    await alice.getByTestId('display-name').fill('Alice');
    await alice.getByTestId('room-input').fill(code);
    await alice.getByTestId('join').click();
    const phone = await open('zh-CN');
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`/#/watch/${code}`);
    await Promise.all([waitForFrames(alice, 'remote-video'), waitForFrames(phone, 'remote-video')]);
    const everyone = [broadcaster, alice, phone];

    await say(alice, 'hello from Alice');
    for (const page of everyone) await expect.poll(() => shown(page)).toEqual([{ name: 'Alice', text: 'hello from Alice' }]);
    await say(phone, '大家好', 'enter');
    await expect.poll(async () => (await shown(phone)).at(-1)).toEqual({ name: expect.stringMatching(/^观众 \d{4}$/), text: '大家好' });
    await expect.poll(async () => (await shown(broadcaster)).at(-1)).toEqual({ name: expect.stringMatching(/^Viewer \d{4}$/), text: '大家好' });
    await say(broadcaster, 'welcome!');
    await expect.poll(async () => (await shown(phone)).at(-1)).toEqual({ name: '主播', text: 'welcome!' });
    await expect.poll(async () => (await shown(alice)).at(-1)).toEqual({ name: 'Broadcaster', text: 'welcome!' });

    // Hostile text is shown as the same characters, on every page; nothing runs, no element appears.
    await say(alice, HOSTILE);
    for (const page of everyone) {
      await expect.poll(async () => (await shown(page)).at(-1)?.text).toBe(HOSTILE);
      expect(await page.evaluate(() => ({ img: document.querySelector('[data-testid=chat] img, [data-testid=chat] b') !== null, pwned: 'pwned' in window }))).toEqual({ img: false, pwned: false });
    }

    // Blank: refused on the page, with a sentence; nothing reaches anyone.
    const before = (await shown(broadcaster)).length;
    await say(alice, '   \u3000 ');
    await expect.poll(() => alice.getByTestId('chat-error').textContent()).toMatch(/cannot be blank/);

    // Too fast: the server's budget is 5 at once, then one a second. One message at a time until one is
    // refused: that one reaches nobody, and the refusal is worded on the page.
    const tooFast = async () => /too fast/.test((await alice.getByTestId('chat-error').textContent()) ?? '');
    let refused = 0;
    for (let i = 1; i <= 15 && !refused; i++) {
      await say(alice, `quick ${i}`, 'enter');
      await expect.poll(async () => (await shown(broadcaster)).some((m) => m.text === `quick ${i}`) || (await tooFast())).toBe(true);
      if (await tooFast()) refused = i;
    }
    expect(refused).toBeGreaterThan(1);
    expect((await shown(broadcaster)).map((m) => m.text)).not.toContain(`quick ${refused}`);
    expect((await shown(broadcaster)).length).toBe(before + refused - 1);

    await alice.screenshot({ path: screenshotPath('chat-desktop.png') });
    await phone.screenshot({ path: screenshotPath('chat-phone.png') });

    // A late joiner gets the history, in order.
    const late = await open();
    await late.goto(`/#/watch/${code}`);
    await expect.poll(() => shown(late)).toEqual(await shown(broadcaster));

    // The broadcaster deletes the hostile message for everyone, then removes Alice from the room.
    const hostile = broadcaster.getByTestId('chat-message').filter({ hasText: 'bold?' });
    await hostile.getByTestId('chat-delete').click();
    for (const page of [...everyone, late]) await expect.poll(async () => (await shown(page)).some((m) => m.text === HOSTILE)).toBe(false);
    await broadcaster.getByTestId('chat-message').filter({ hasText: 'hello from Alice' }).getByTestId('chat-remove').click();
    await expect.poll(() => alice.getByTestId('error-message').textContent(), { timeout: 10_000 }).toMatch(/removed you/);
    await say(alice, 'let me back in');
    await expect.poll(() => alice.getByTestId('chat-error').textContent()).toMatch(/not in the room/);
  });
});
