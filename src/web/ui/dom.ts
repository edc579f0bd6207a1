// A tiny element builder: enough to keep page code declarative without a framework.
import { translate, type MessageKey, type Params } from './i18n.js';

type Child = Node | string | null | undefined | false;
export interface Props {
  class?: string;
  testid?: string;
  /** Translated text: a message key, or a key with parameters. */
  text?: MessageKey | [MessageKey, Params];
  attrs?: Record<string, string>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.testid) el.dataset.testid = props.testid;
  if (props.text) {
    const [key, params] = Array.isArray(props.text) ? props.text : [props.text, {}];
    translate(el, key, params);
  }
  for (const [name, value] of Object.entries(props.attrs ?? {})) el.setAttribute(name, value);
  for (const [name, listener] of Object.entries(props.on ?? {})) el.addEventListener(name, listener as EventListener);
  for (const child of children) if (child) el.append(child);
  return el;
}

export function show(el: HTMLElement, visible: boolean): void {
  el.hidden = !visible;
}

/** Format a kbit/s figure for people: 850 kbit/s, 2.4 Mbit/s. */
export function formatBitrate(kbps: number | undefined): string {
  if (kbps === undefined) return '—';
  return kbps >= 10_000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${Math.round(kbps)} kbit/s`;
}

export function orDash(value: string | number | undefined | null, unit = ''): string {
  return value === undefined || value === null || value === '' ? '—' : `${value}${unit}`;
}
