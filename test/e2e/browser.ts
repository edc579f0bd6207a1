// Real Chromium for end-to-end tests: Debian's /usr/bin/chromium driven by
// playwright-core, with the fake camera and microphone. A missing browser is a
// loud failure, never a skipped test.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  // 30 fps and three cameras. Chromium's fake_device_1 is a Y16 depth camera
  // whose frames WebRTC never encodes (measured: framesEncoded stays 0), so a
  // camera switch in the tests goes from fake_device_0 to fake_device_2.
  '--use-fake-device-for-media-stream=fps=30,device-count=3',
  '--autoplay-policy=no-user-gesture-required',
  // Headless tabs in the background must keep rendering and decoding.
  '--disable-renderer-backgrounding',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
];

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, ...extraArgs], headless: true });
}

/** A fresh page in its own context (own storage, own camera permission). */
export async function newPage(browser: Browser, baseUrl: string, locale = 'en-US'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: baseUrl, locale, viewport: { width: 1200, height: 860 } });
  await context.grantPermissions(['camera', 'microphone']);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[console] ${msg.text()}`);
  });
  return { context, page };
}
