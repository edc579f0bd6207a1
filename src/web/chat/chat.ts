// The room's chat, without any DOM: it rides the signalling socket, so it
// works the same whether the picture comes peer-to-peer, through TURN, the
// server relay or an SFU. The list starts empty on every room_joined and
// room_created (a rejoin after a reconnect included) and is filled by the
// chat_history the server sends right after, when the room kept any.
import { ChatText, type ChatMessage, type ErrorCode } from '../../protocol/messages.js';
import { Emitter } from '../emitter.js';
import type { SignallingClient } from '../signalling/client.js';

/** Enough for a long evening without the page growing for ever. */
const SHOWN_MAX = 200;

export interface ChatEvents {
  /** Every message shown now, oldest first. */
  messages: readonly ChatMessage[];
  /** The server refused a message or a deletion (rate_limited, bad_message, not_in_room…). */
  refused: { code: ErrorCode; message: string };
}

/** Why a text is not sent: the same rules as the server's schema. */
export type TextProblem = 'empty' | 'too_long' | 'control';

export function textProblem(text: string): TextProblem | null {
  const result = ChatText.safeParse(text);
  if (result.success) return null;
  const message = result.error.issues[0]?.message ?? '';
  return message.includes('empty') ? 'empty' : message.includes('control') ? 'control' : 'too_long';
}

export class ChatClient extends Emitter<ChatEvents> {
  private list: ChatMessage[] = [];
  private readonly unsubscribe: () => void;

  constructor(private readonly signalling: SignallingClient) {
    super();
    const reset = () => this.replace([]);
    this.unsubscribe = signalling.onEach({
      room_joined: reset,
      room_created: reset,
      chat_history: (m) => this.replace(m.messages),
      chat_message: (m) => this.replace([...this.list, m].slice(-SHOWN_MAX)),
      chat_delete: (m) => this.replace(this.list.filter((x) => x.id !== m.id)),
      error: (m) => {
        if (m.request_type === 'chat_send' || m.request_type === 'chat_delete') this.emit('refused', { code: m.code, message: m.message });
      },
    });
  }

  get messages(): readonly ChatMessage[] {
    return this.list;
  }

  /** Send a text; false (nothing sent) when the server's rules would refuse it or the socket is down. */
  send(text: string): boolean {
    return textProblem(text) === null && this.signalling.send({ type: 'chat_send', text });
  }

  /** The broadcaster removes a message for everyone. */
  delete(id: string): void {
    this.signalling.send({ type: 'chat_delete', id });
  }

  dispose(): void {
    this.unsubscribe();
  }

  private replace(list: ChatMessage[]): void {
    this.list = list;
    this.emit('messages', list);
  }
}
