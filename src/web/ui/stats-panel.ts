// The collapsible statistics panel both pages share: labelled figures and a
// chart of bitrate against the network's estimate over the last minute.
import { t, type MessageKey } from '../i18n.js';
import { LineChart } from './chart.js';
import { h } from './dom.js';

export class StatsPanel {
  readonly element: HTMLDetailsElement;
  private readonly values = new Map<string, HTMLElement>();
  private readonly chart = new LineChart([
    { label: 'bitrate', color: '#e4405f' },
    { label: 'network', color: '#3b82f6' },
  ]);

  constructor(rows: { key: MessageKey; testid?: string }[], extra?: HTMLElement) {
    const grid = h('dl', { class: 'stats-grid' });
    for (const row of rows) {
      const value = h('dd', { testid: row.testid ?? `stat-${row.key}` }, '—');
      this.values.set(row.key, value);
      grid.append(h('div', { class: 'stat' }, h('dt', { text: row.key }), value));
    }
    this.element = h(
      'details',
      { class: 'stats-panel', attrs: { open: '' } },
      h('summary', { text: 'stats' }),
      grid,
      h('p', { class: 'chart-caption', text: 'chart_bitrate' }),
      this.chart.canvas,
      extra,
    );
  }

  set(key: MessageKey, text: string): void {
    const el = this.values.get(key);
    if (el && el.textContent !== text) el.textContent = text;
  }

  plot(bitrate: number | undefined, network: number | undefined): void {
    this.chart.push([bitrate, network]);
    this.chart.canvas.setAttribute('aria-label', `${t('chart_bitrate')}: ${bitrate ?? '—'}`);
  }
}
