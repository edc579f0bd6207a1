// A room's chat: the last CHAT_HISTORY_SIZE messages, kept for the clients that
// join later. A text is kept as the schema left it (trimmed, no control
// characters) and never escaped here: clients show it as text, not HTML.
import { randomBytes, randomInt } from 'node:crypto';
import { CHAT_HISTORY_SIZE, type ChatMessage } from '../protocol/messages.js';

/** The name on the broadcaster's messages; pages show their own word for it (the message says `broadcaster`). */
export const BROADCASTER_NAME = 'Broadcaster';

/** A viewer who gave no name: "Viewer 4821" (the web app sends its own, remembered per device). */
export function defaultViewerName(): string {
  return `Viewer ${randomInt(1000, 10_000)}`;
}

export interface ChatAuthor {
  id: string;
  name: string;
  broadcaster: boolean;
}

export class ChatLog {
  private readonly messages: ChatMessage[] = [];

  constructor(private readonly size = CHAT_HISTORY_SIZE) {}

  add(author: ChatAuthor, text: string, now = new Date()): ChatMessage {
    const message: ChatMessage = {
      type: 'chat_message',
      id: randomBytes(9).toString('base64url'),
      from_id: author.id,
      name: author.name,
      text,
      sent_at: now.toISOString(),
      ...(author.broadcaster ? { broadcaster: true } : {}),
    };
    this.messages.push(message);
    if (this.messages.length > this.size) this.messages.shift();
    return message;
  }

  /** Forget a message; false if it is not among the kept ones. */
  delete(id: string): boolean {
    const index = this.messages.findIndex((m) => m.id === id);
    if (index < 0) return false;
    this.messages.splice(index, 1);
    return true;
  }

  /** Oldest first. */
  history(): ChatMessage[] {
    return [...this.messages];
  }
}
