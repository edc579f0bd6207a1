// The collapsible statistics panel both pages share: labelled figures and two
// charts over the last minute — bitrate against the network's estimate, and
// frame rate with the round trip (the two things that show a bad network first).
import type { Sample } from '../rtc/stats-sampler.js';
import { t, type MessageKey } from './i18n.js';
import { LineChart } from './chart.js';
import { h } from './dom.js';

export interface ChartPoint {
  bitrate?: number | undefined;
  network?: number | undefined;
  fps?: number | undefined;
  rtt?: number | undefined;
}

/** The tooltip of a network-speed figure: the browser's estimate, or a measured receive rate. */
export function speedSource(s: Pick<Sample, 'availableBitrate' | 'speedSource'>): MessageKey | null {
  if (s.availableBitrate === undefined) return null;
  return s.speedSource === 'relay' ? 'speed_measured_relay' : s.speedSource === 'measured' ? 'speed_measured' : 'speed_estimate';
}

export class StatsPanel {
  readonly element: HTMLDetailsElement;
  private readonly values = new Map<string, HTMLElement>();
  private readonly bitrateChart = new LineChart([
    { label: () => t('bitrate'), color: '#e4405f' },
    { label: () => t('network_speed'), color: '#3b82f6' },
  ]);
  private readonly motionChart = new LineChart([
    { label: () => t('fps'), color: '#16a34a' },
    { label: () => t('rtt'), color: '#f59e0b' },
  ]);

  constructor(rows: { key: MessageKey; testid?: string }[], extra?: HTMLElement) {
    const grid = h('dl', { class: 'stats-grid' });
    for (const row of rows) {
      const value = h('dd', { testid: row.testid ?? `stat-${row.key}` }, '—');
      this.values.set(row.key, value);
      grid.append(h('div', { class: 'stat' }, h('dt', { text: row.key }), value));
    }
    this.bitrateChart.canvas.dataset.testid = 'chart-bitrate';
    this.motionChart.canvas.dataset.testid = 'chart-fps-rtt';
    // A chart is an image: named from the start, with the latest figures once there are some (plot).
    this.bitrateChart.canvas.setAttribute('aria-label', t('chart_bitrate'));
    this.motionChart.canvas.setAttribute('aria-label', t('chart_fps_rtt'));
    this.element = h(
      'details',
      { class: 'stats-panel', attrs: { open: '' } },
      h('summary', { text: 'stats' }),
      grid,
      h(
        'div',
        { class: 'charts' },
        h('figure', {}, h('figcaption', { class: 'chart-caption', text: 'chart_bitrate' }), this.bitrateChart.canvas),
        h('figure', {}, h('figcaption', { class: 'chart-caption', text: 'chart_fps_rtt' }), this.motionChart.canvas),
      ),
      extra,
    );
  }

  /** Say where a figure comes from (a tooltip, read by screen readers as the figure's description); null: nothing to say. */
  explain(key: MessageKey, why: MessageKey | null): void {
    const el = this.values.get(key);
    if (!el || el.dataset.why === (why ?? '')) return;
    el.dataset.why = why ?? '';
    if (why) el.title = t(why);
    else el.removeAttribute('title');
  }

  set(key: MessageKey, text: string): void {
    const el = this.values.get(key);
    if (el && el.textContent !== text) el.textContent = text;
  }

  plot(point: ChartPoint): void {
    this.bitrateChart.push([point.bitrate, point.network]);
    this.motionChart.push([point.fps, point.rtt]);
    this.bitrateChart.canvas.setAttribute('aria-label', `${t('chart_bitrate')}: ${point.bitrate ?? '—'}`);
    this.motionChart.canvas.setAttribute('aria-label', `${t('chart_fps_rtt')}: ${point.fps ?? '—'} / ${point.rtt ?? '—'}`);
  }
}
