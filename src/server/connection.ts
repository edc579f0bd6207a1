// One signalling connection: its socket, its message budget, the client's
// address, and the room it is in (kept by Room, so the two never disagree).
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { ErrorCode, ServerMessage } from '../protocol/messages.js';
import type { ServerMetrics } from './metrics.js';
import type { TokenBucket } from './ratelimit.js';
import type { Member, Room } from './room.js';

export class Connection implements Member {
  readonly id = randomBytes(9).toString('base64url');
  room: Room | null = null;
  alive = true;
  lastRateNotice = 0;
  /** A create or join waiting for a password hash; a second one meanwhile is refused. */
  busy = false;

  constructor(
    readonly socket: WebSocket,
    readonly bucket: TokenBucket,
    readonly ip: string,
    private readonly metrics: ServerMetrics,
    /** chat_send has its own, smaller budget (CHAT_RATE, CHAT_BURST), kept across rooms. */
    readonly chatBucket: TokenBucket,
  ) {}

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  send(message: ServerMessage): void {
    this.sendText(JSON.stringify(message));
  }

  sendText(text: string): void {
    if (this.open) this.socket.send(text);
  }

  error(code: ErrorCode, message: string, requestType?: string): void {
    this.metrics.errors.inc({ code });
    this.send({ type: 'error', code, message, ...(requestType ? { request_type: requestType } : {}) });
  }
}
