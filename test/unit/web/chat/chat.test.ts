// The browser's chat state and name rules, without a page: a fake signalling
// client plays the server's side.
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage, ClientMessage } from '../../../../src/protocol/messages.js';
import { ChatClient, textProblem } from '../../../../src/web/chat/chat.js';
import { chooseName, defaultNameNumber, joinName, viewerNumber } from '../../../../src/web/chat/names.js';
import { Emitter } from '../../../../src/web/emitter.js';
import type { SignallingClient, SignallingEvents } from '../../../../src/web/signalling/client.js';

class FakeSignalling extends Emitter<SignallingEvents> {
  readonly sent: ClientMessage[] = [];
  open = true;
  send(message: ClientMessage): boolean {
    if (this.open) this.sent.push(message);
    return this.open;
  }
  fire<K extends keyof SignallingEvents>(type: K, payload: SignallingEvents[K]): void {
    this.emit(type, payload);
  }
}

const message = (id: string, text = id): ChatMessage => ({ type: 'chat_message', id, from_id: 'v', name: 'Viewer 1234', text, sent_at: new Date(0).toISOString() });

describe('ChatClient', () => {
  it('history replaces, messages append, deletions remove; a new room starts empty', () => {
    const signalling = new FakeSignalling();
    const chat = new ChatClient(signalling as unknown as SignallingClient);
    const seen: string[][] = [];
    chat.on('messages', (list) => seen.push(list.map((m) => m.id)));
    signalling.fire('chat_history', { type: 'chat_history', messages: [message('a'), message('b')] });
    signalling.fire('chat_message', message('c'));
    signalling.fire('chat_delete', { type: 'chat_delete', id: 'b' });
    signalling.fire('room_joined', { type: 'room_joined', room_id: '123456', broadcaster_id: 'b' });
    expect(seen).toEqual([['a', 'b'], ['a', 'b', 'c'], ['a', 'c'], []]);
  });

  it('sends only what the server would take; refusals of chat messages are reported, other errors are not', () => {
    const signalling = new FakeSignalling();
    const chat = new ChatClient(signalling as unknown as SignallingClient);
    const refused: string[] = [];
    chat.on('refused', (r) => refused.push(r.code));
    expect(chat.send('   ')).toBe(false);
    expect(chat.send('x'.repeat(501))).toBe(false);
    expect(chat.send('hi')).toBe(true);
    expect(signalling.sent).toEqual([{ type: 'chat_send', text: 'hi' }]);
    signalling.open = false;
    expect(chat.send('offline')).toBe(false);
    signalling.fire('error', { type: 'error', code: 'rate_limited', message: 'slow down', request_type: 'chat_send' });
    signalling.fire('error', { type: 'error', code: 'room_not_found', message: 'no', request_type: 'join_room' });
    expect(refused).toEqual(['rate_limited']);
  });

  it('textProblem says why, by the server’s rules', () => {
    expect(textProblem(' \u3000 ')).toBe('empty');
    expect(textProblem('🎉'.repeat(500))).toBeNull();
    expect(textProblem('🎉'.repeat(501))).toBe('too_long');
    expect(textProblem('beep\u0007')).toBe('control');
  });
});

describe('display names', () => {
  const store = new Map<string, string>();
  Object.assign(globalThis, {
    localStorage: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v), removeItem: (k: string) => store.delete(k) },
  });
  afterEach(() => store.clear());

  it('a default "Viewer NNNN" drawn once per device, a chosen name remembered trimmed, a bad one forgotten', () => {
    const n = viewerNumber();
    expect(n).toMatch(/^\d{4}$/);
    expect(viewerNumber()).toBe(n);
    expect(joinName()).toBe(`Viewer ${n}`);
    expect(defaultNameNumber(joinName())).toBe(n);
    chooseName('  小明  ');
    expect(joinName()).toBe('小明');
    expect(defaultNameNumber('小明')).toBeNull();
    chooseName('   ');
    expect(joinName()).toBe(`Viewer ${n}`);
  });
});
