// Boot: the header with the language switch, and a hash router that gives each
// page the whole main area and disposes it (closing its sessions) on leave.
import './styles.css';
// First, before any module builds a zod schema (see zod-setup.ts).
import './zod-setup.js';
import { currentLang, setLang } from './ui/i18n.js';
import { renderBroadcastPage } from './ui/broadcast-page.js';
import { h } from './ui/dom.js';
import { renderHomePage } from './ui/home-page.js';
import { renderNetworkTestPage } from './ui/network-test-page.js';
import { renderObsPage } from './ui/obs-page.js';
import { renderWatchPage } from './ui/watch-page.js';

const main = h('main', { class: 'page' });
const langButton = h('button', { class: 'lang', testid: 'language', text: 'language' });
langButton.addEventListener('click', () => setLang(currentLang() === 'zh' ? 'en' : 'zh'));
document.body.replaceChildren(
  h('header', { class: 'top' }, h('a', { class: 'brand', attrs: { href: '#/' }, text: 'app_title' }), langButton),
  main,
);
setLang(currentLang());

let dispose: (() => void) | null = null;

/** Options may sit in the query (`/?via=relay#/watch/123456`) or after the hash path (`#/watch/123456?via=relay`). */
function route(): void {
  dispose?.();
  const [path = '/', query = ''] = (location.hash.replace(/^#/, '') || '/').split('?');
  const params = new URLSearchParams(location.search);
  new URLSearchParams(query).forEach((value, key) => params.set(key, value));
  const watch = /^\/watch(?:\/(\d{6}))?\/?$/.exec(path);
  if (path === '/broadcast') dispose = renderBroadcastPage(main, params);
  else if (path === '/broadcast/obs') dispose = renderObsPage(main);
  else if (watch) dispose = renderWatchPage(main, watch[1] ?? null, params);
  else if (path === '/network-test') dispose = renderNetworkTestPage(main);
  else dispose = renderHomePage(main);
}

window.addEventListener('hashchange', route);
route();
