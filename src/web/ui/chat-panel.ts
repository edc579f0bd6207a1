// The chat beside (or, on a phone, below) the picture, on the broadcaster's and
// the viewers' pages. Every text from the wire goes in as a text node, never as
// HTML; names sit in <bdi> and texts are dir="auto", so right-to-left text
// cannot reorder what is around it. The list is a log: screen readers announce
// each new message once.
import type { ChatMessage, ErrorCode } from '../../protocol/messages.js';
import { textProblem, type ChatClient } from '../chat/chat.js';
import { defaultNameNumber } from '../chat/names.js';
import { h, show } from './dom.js';
import { t, translate, type MessageKey } from './i18n.js';

const REFUSED: Partial<Record<ErrorCode, MessageKey>> = {
  rate_limited: 'chat_err_rate_limited',
  not_in_room: 'chat_err_not_in_room',
  bad_message: 'chat_err_bad',
  not_allowed: 'err_not_allowed',
};

export interface ChatPanelOptions {
  /** The broadcaster's page: delete any message, remove the viewer who wrote it. */
  moderate?: { removeViewer(viewerId: string): void };
}

/** The name a message is shown with, kept translated when the language changes. */
function nameOf(m: ChatMessage): HTMLElement {
  const el = h('bdi', { class: m.broadcaster ? 'chat-name host' : 'chat-name' });
  const n = defaultNameNumber(m.name);
  if (m.broadcaster) return translate(el, 'chat_broadcaster');
  if (n) return translate(el, 'viewer_default', { n });
  el.textContent = m.name;
  return el;
}

export class ChatPanel {
  readonly element: HTMLElement;
  private readonly list = h('ol', { class: 'chat-list', testid: 'chat-list' });
  // The scrolling box: a log (read out as messages arrive), reachable by keyboard to scroll back.
  private readonly log = h('div', { class: 'chat-log', attrs: { role: 'log', tabindex: '0', 'aria-labelledby': 'chat-title' } }, this.list);
  private readonly empty = h('p', { class: 'muted chat-empty', text: 'chat_empty' });
  private readonly input = h('input', {
    testid: 'chat-input',
    attrs: { id: 'chat-input', type: 'text', maxlength: '500', autocomplete: 'off', enterkeyhint: 'send', 'data-i18n-placeholder': 'chat_placeholder' },
  });
  private readonly problem = h('p', { class: 'chat-error', testid: 'chat-error', attrs: { role: 'alert' } });
  private readonly items = new Map<string, HTMLLIElement>();
  private readonly off: (() => void)[];

  constructor(
    private readonly chat: ChatClient,
    private readonly options: ChatPanelOptions = {},
  ) {
    this.input.placeholder = t('chat_placeholder');
    show(this.problem, false);
    const form = h(
      'form',
      { class: 'chat-form' },
      h('label', { class: 'visually-hidden', attrs: { for: 'chat-input' }, text: 'chat_input_label' }),
      this.input,
      h('button', { testid: 'chat-send', class: 'primary', attrs: { type: 'submit' }, text: 'chat_send' }),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.element = h('section', { class: 'card chat', testid: 'chat' }, h('h2', { attrs: { id: 'chat-title' }, text: 'chat' }), this.empty, this.log, this.problem, form);
    this.off = [
      chat.on('messages', (list) => this.render(list)),
      chat.on('refused', ({ code, message }) => {
        const key = REFUSED[code];
        this.say(key ? t(key) : t('chat_err_other', { message }));
      }),
    ];
    this.render(chat.messages);
  }

  dispose(): void {
    this.off.forEach((off) => off());
  }

  private submit(): void {
    const text = this.input.value;
    const problem = textProblem(text);
    if (problem) return this.say(t(`chat_err_${problem}`));
    if (!this.chat.send(text)) return this.say(t('chat_err_offline'));
    this.input.value = '';
    show(this.problem, false);
  }

  private say(message: string): void {
    this.problem.textContent = message;
    show(this.problem, true);
  }

  /** Only what changed: a log re-rendered whole would be read out whole. */
  private render(messages: readonly ChatMessage[]): void {
    const log = this.log;
    const stuck = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    const ids = new Set(messages.map((m) => m.id));
    for (const [id, li] of this.items) {
      if (ids.has(id)) continue;
      li.remove();
      this.items.delete(id);
    }
    messages.forEach((m, i) => {
      let li = this.items.get(m.id);
      if (!li) this.items.set(m.id, (li = this.item(m)));
      if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] ?? null);
    });
    show(this.empty, messages.length === 0);
    show(log, messages.length > 0);
    if (stuck) log.scrollTop = log.scrollHeight;
  }

  private item(m: ChatMessage): HTMLLIElement {
    const time = new Date(m.sent_at);
    const li = h(
      'li',
      { testid: 'chat-message', class: 'chat-message', attrs: { 'data-id': m.id, 'data-from': m.from_id } },
      nameOf(m),
      ' ',
      h('time', { class: 'muted', attrs: { datetime: m.sent_at } }, time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })),
      h('span', { class: 'chat-text', attrs: { dir: 'auto' } }, m.text),
    );
    const moderate = this.options.moderate;
    if (moderate) {
      const who = m.broadcaster ? t('chat_broadcaster') : m.name;
      li.append(
        h('button', {
          class: 'small',
          testid: 'chat-delete',
          text: 'chat_delete',
          attrs: { type: 'button', 'aria-label': t('chat_delete_label', { name: who }) },
          on: { click: () => this.chat.delete(m.id) },
        }),
      );
      if (!m.broadcaster) {
        li.append(
          h('button', {
            class: 'small',
            testid: 'chat-remove',
            text: 'remove_viewer',
            attrs: { type: 'button', 'aria-label': t('chat_remove_label', { name: who }) },
            on: { click: () => moderate.removeViewer(m.from_id) },
          }),
        );
      }
    }
    return li;
  }
}
