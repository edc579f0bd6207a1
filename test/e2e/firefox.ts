// Real Firefox for end-to-end tests: Debian's /usr/bin/firefox-esr driven by
// puppeteer-core over WebDriver BiDi, with Firefox's fake camera and
// microphone. (playwright's Firefox launcher needs Playwright's own patched
// build and cannot drive a stock Firefox.) A missing browser is a loud
// failure, never a skipped test.
//
// The pages are wrapped in a small adapter with the few playwright Page
// methods that test/e2e/app.ts uses (goto, getByTestId, evaluate,
// waitForTimeout), so the same helpers drive both engines.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type BrowserContext, type Page as PuppeteerPage } from 'puppeteer-core';
import type { Page as PlaywrightPage } from 'playwright-core';

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export const FIREFOX_PREFS: Record<string, unknown> = {
  // Fake camera and microphone, and no permission prompt for them.
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // Play media with sound without a user gesture (0 = allowed), as
  // Chromium's --autoplay-policy=no-user-gesture-required.
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // Firefox hides host candidates behind random mDNS names (xxx.local) unless
  // the page has camera permission. A viewer page never asks for the camera,
  // so its host candidates would be mDNS names that only resolve through a
  // multicast responder; the test machine's loopback has none, and the tests
  // run without STUN (no outside network), so no path would connect. Real
  // users have STUN and get srflx candidates; here the tests turn the
  // obfuscation off to use the plain loopback host candidates, the same
  // candidates Chromium offers in the same tests.
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Pages in the background tabs keep running at full speed.
  'dom.min_background_timeout_value': 0,
  'intl.accept_languages': 'en-US',
  // Quiet and offline: no updates, telemetry or first-run pages.
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
};

export async function launchFirefox(extraPrefs: Record<string, unknown> = {}): Promise<Browser> {
  if (!existsSync(FIREFOX)) {
    throw new Error(
      `Firefox not found at ${FIREFOX}: install Debian's Firefox ESR (apt-get install -y --no-install-recommends firefox-esr) or set FIREFOX_PATH`,
    );
  }
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    protocol: 'webDriverBiDi',
    headless: true,
    // The window's size, not page.setViewport: puppeteer's setViewport also sends
    // emulation.setScreenOrientationOverride, which Firefox ESR 140 does not know.
    defaultViewport: null,
    args: ['--window-size=1200,860'],
    extraPrefsFirefox: { ...FIREFOX_PREFS, ...extraPrefs },
  });
}

export interface FirefoxPage {
  context: BrowserContext;
  page: PuppeteerPage;
  /** The same page behind the playwright Page methods that test/e2e/app.ts uses. */
  pw: PlaywrightPage;
}

/** A fresh page in its own browser context (own storage); init scripts run before the app's code. */
export async function newFirefoxPage(browser: Browser, baseUrl: string, initScripts: (() => void)[] = []): Promise<FirefoxPage> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  for (const script of initScripts) await page.evaluateOnNewDocument(script);
  // Firefox ESR 140 (not 153) logs one 'Permission denied to access property "length"' error, with no
  // stack and outside the page's own realm (no window error or unhandledrejection sees it), on some
  // new pages that have any preload script at all: `window.__x = 1` alone does it, no preload script
  // never does (measured with a bare puppeteer page). It comes from the browser's handling of BiDi
  // script.addPreloadScript, not from the app or these scripts.
  page.on('pageerror', (err) => console.error(`[firefox page error] ${err instanceof Error ? err.message : String(err)}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warn') console.error(`[firefox console ${msg.type()}] ${msg.text()}`);
  });
  return { context, page, pw: playwrightFace(page, baseUrl) };
}

/** The subset of playwright's Page (and Locator) that test/e2e/app.ts calls, on a puppeteer page. */
function playwrightFace(page: PuppeteerPage, baseUrl: string): PlaywrightPage {
  const sel = (id: string) => `[data-testid="${id}"]`;
  const face = {
    goto: (url: string) => page.goto(new URL(url, baseUrl).href),
    evaluate: <R, A>(fn: (arg: A) => R, arg?: A) => page.evaluate(fn as never, arg as never) as Promise<R>,
    waitForTimeout: (ms: number) => new Promise((r) => setTimeout(r, ms)),
    screenshot: (opts: { path: string; fullPage?: boolean }) => page.screenshot({ path: opts.path as `${string}.png`, fullPage: opts.fullPage ?? false }),
    getByTestId: (id: string) => ({
      click: async () => (await page.waitForSelector(sel(id), { visible: true }))!.click(),
      fill: async (value: string) => {
        const input = (await page.waitForSelector(sel(id), { visible: true }))!;
        await input.evaluate((el) => ((el as HTMLInputElement).value = ''));
        await input.type(value);
      },
      selectOption: async (value: string) => {
        await page.waitForSelector(sel(id));
        return page.select(sel(id), value);
      },
      textContent: () => page.$eval(sel(id), (el) => el.textContent).catch(() => null),
      isVisible: () => page.$eval(sel(id), (el) => (el as HTMLElement).offsetParent !== null).catch(() => false),
    }),
  };
  return face as unknown as PlaywrightPage;
}
