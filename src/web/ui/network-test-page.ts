// 网络诊断 / Network test: runs the connectivity checks and says in plain
// words what works from this device.
import { runConnectivityChecks, type CheckResult } from '../rtc/connectivity-check.js';
import { t, translate } from './i18n.js';
import { SignallingClient } from '../signalling/client.js';
import { h } from './dom.js';

function title(r: CheckResult): string {
  if (r.kind === 'signalling') return t('net_signalling');
  if (r.kind === 'stun') return r.url ? t('net_stun', { url: r.url }) : 'STUN';
  return r.url ? t('net_turn', { transport: r.transport!.toUpperCase(), url: r.url }) : 'TURN';
}

function verdict(r: CheckResult): string {
  if (r.status === 'none') return t(r.kind === 'stun' ? 'net_none_stun' : 'net_none_turn');
  if (r.status === 'ok') {
    if (r.kind === 'signalling') return t('net_ok_signalling', { ms: r.ms });
    return t(r.kind === 'stun' ? 'net_ok_stun' : 'net_ok_turn', { address: r.address ?? '', ms: r.ms });
  }
  if (r.kind === 'signalling') return t('net_fail_signalling');
  if (r.error === '401' || r.error === '403') return t('net_fail_auth', { code: r.error });
  if (r.transport === 'tls' && r.error !== 'timeout') return t('net_fail_tls');
  if (r.error === 'timeout' || r.error === '701') return t('net_fail_unreachable', { ms: r.ms });
  return t('net_fail_other', { code: r.error ?? '?' });
}

export function summarize(results: CheckResult[]): string {
  if (results.some((r) => r.kind === 'signalling' && r.status !== 'ok')) return t('net_summary_no_server');
  const turn = [...new Set(results.filter((r) => r.kind === 'turn' && r.status === 'ok').map((r) => r.transport!.toUpperCase()))];
  if (turn.length) return t('net_summary_turn', { transports: turn.join(', ') });
  if (results.some((r) => r.kind === 'stun' && r.status === 'ok')) return t('net_summary_direct_only');
  // The server relay carries the picture over the page's own connection to the server, which works.
  return t('net_summary_relay_only');
}

const ORDER = { signalling: 0, stun: 1, turn: 2 };

export function renderNetworkTestPage(root: HTMLElement): () => void {
  const signalling = new SignallingClient();
  const list = h('ul', { class: 'checks', testid: 'network-checks' });
  const summary = h('p', { class: 'summary', testid: 'network-summary', attrs: { 'aria-live': 'polite' } });
  const rerun = h('button', { testid: 'network-rerun', attrs: { type: 'button' }, text: 'net_rerun' });
  root.replaceChildren(
    h('a', { class: 'back', attrs: { href: '#/' }, text: 'back' }),
    h('section', { class: 'card' }, h('h1', { text: 'network_test' }), h('p', { class: 'muted', text: 'net_intro' }), list, summary, rerun),
  );

  let run = 0;
  async function start(): Promise<void> {
    const mine = ++run;
    rerun.disabled = true;
    list.replaceChildren();
    translate(summary, 'net_running');
    const results: CheckResult[] = [];
    await runConnectivityChecks(signalling, (r) => {
      if (mine !== run) return;
      results.push(r);
      results.sort((a, b) => ORDER[a.kind] - ORDER[b.kind] || a.url.localeCompare(b.url));
      list.replaceChildren(
        ...results.map((x) =>
          h(
            'li',
            { class: `check ${x.status}`, testid: 'network-check', attrs: { 'data-kind': x.kind, 'data-status': x.status, 'data-transport': x.transport ?? '' } },
            h('span', { class: 'mark' }, x.status === 'ok' ? '✅' : x.status === 'none' ? '➖' : '❌'),
            ' ',
            h('strong', {}, title(x)),
            ' — ',
            verdict(x),
          ),
        ),
      );
    });
    if (mine !== run) return;
    summary.textContent = summarize(results);
    summary.dataset.done = 'true';
    rerun.disabled = false;
  }
  rerun.addEventListener('click', () => void start());
  void start();
  return () => {
    run++;
    signalling.close();
  };
}
