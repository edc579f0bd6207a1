// The browser's end of the signalling WebSocket: typed messages in and out,
// validated with the same schemas the server uses, and reconnection with
// exponential backoff and jitter when the socket drops.
import type { ClientMessage, IceServer, IceTimeouts, ServerMessageOf, ServerMessageType } from '../../protocol/messages.js';
import { parseServerMessage } from '../../protocol/parse.js';
import { Emitter } from '../emitter.js';

type MessageEvents = { [K in ServerMessageType]: ServerMessageOf<K> };

export interface SignallingEvents extends MessageEvents {
  /** The socket is open and the server said welcome (first time or after a reconnect). */
  connected: { clientId: string; iceServers: IceServer[]; reconnect: boolean };
  /** The socket dropped; another attempt follows after `delayMs`. */
  disconnected: { delayMs: number; attempt: number };
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 10_000, factor: 2 };

/** Delay before attempt `n` (0-based): exponential, capped, with full jitter in its upper half. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Delay after the server said `server_going_away`: its hint plus up to half of
 * it again at random, so a restarted server is not hit by every client at once.
 * A planned restart is short, so the same delay is used for the next
 * PLANNED_RESTART_ATTEMPTS attempts before the usual backoff takes over.
 */
export const PLANNED_RESTART_ATTEMPTS = 10;

export function goingAwayDelay(hintMs: number, random = Math.random): number {
  return Math.round(hintMs + (random() * hintMs) / 2);
}

export function defaultSignallingUrl(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

export class SignallingClient extends Emitter<SignallingEvents> {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private everConnected = false;
  private closedByUser = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** The server's reconnect hint from server_going_away, and how many attempts may still use it. */
  private goingAwayHintMs: number | null = null;
  private hintAttemptsLeft = 0;
  clientId: string | null = null;
  iceServers: IceServer[] = [];
  /** The connection ladder's timeouts, when the server set them. */
  iceTimeouts: IceTimeouts | null = null;

  constructor(
    private readonly url: string = defaultSignallingUrl(),
    private readonly backoff: BackoffPolicy = DEFAULT_BACKOFF,
  ) {
    super();
  }

  /** Another WebSocket endpoint of the same server (e.g. /relay). */
  endpoint(path: string, params: Record<string, string>): string {
    const url = new URL(this.url);
    url.pathname = path;
    url.search = new URLSearchParams(params).toString();
    return url.toString();
  }

  /** An HTTP URL on the same server (e.g. /api/whep/123456), http or https as the socket is ws or wss. */
  httpEndpoint(path: string): string {
    const url = new URL(path, this.url);
    url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
    return url.toString();
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN && this.clientId !== null;
  }

  /**
   * Resolves once connected (at once if already). Safe to call again while a
   * connection is opening or a retry is pending: no second socket is opened.
   * Rejects if the attempt it waits for fails; retries go on in the background.
   */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    this.closedByUser = false;
    return new Promise((resolve, reject) => {
      const offOk = this.on('connected', () => {
        offOk();
        offFail();
        resolve();
      });
      const offFail = this.on('disconnected', () => {
        offOk();
        offFail();
        reject(new Error('cannot reach the server'));
      });
      if (!this.socket && !this.retryTimer) this.open();
    });
  }

  /**
   * Send a request and resolve with the server's reply of `replyType`, or
   * reject with its error about this request (`code` on the Error).
   */
  request<K extends ServerMessageType>(message: ClientMessage, replyType: K): Promise<SignallingEvents[K]> {
    return new Promise((resolve, reject) => {
      const done = () => {
        offReply();
        offError();
      };
      const offReply = this.on(replyType, (m: SignallingEvents[K]) => {
        done();
        resolve(m);
      });
      const offError = this.on('error', (m) => {
        if (m.request_type !== message.type) return;
        done();
        reject(Object.assign(new Error(m.message), { code: m.code }));
      });
      this.send(message);
    });
  }

  send(message: ClientMessage): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  close(): void {
    this.closedByUser = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.socket?.close();
    this.socket = null;
  }

  private open(): void {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      const parsed = parseServerMessage(event.data);
      if (!parsed.ok) {
        console.warn('ignoring a server message that does not match the protocol:', parsed.message);
        return;
      }
      const message = parsed.message;
      if (message.type === 'welcome') {
        this.clientId = message.client_id;
        this.iceServers = message.ice_servers;
        this.iceTimeouts = message.ice_timeouts ?? null;
        const reconnect = this.everConnected;
        this.everConnected = true;
        this.attempt = 0;
        this.goingAwayHintMs = null;
        this.emit('connected', { clientId: message.client_id, iceServers: message.ice_servers, reconnect });
      } else if (message.type === 'server_going_away') {
        // Leave now, so the server can finish draining, and come back after its hint.
        this.goingAwayHintMs = message.reconnect_after_ms;
        this.hintAttemptsLeft = PLANNED_RESTART_ATTEMPTS;
        socket.close();
      }
      // A parsed message is the payload of the event named by its own type.
      this.emit(message.type, message as never);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clientId = null;
      if (this.closedByUser) return;
      const hint = this.goingAwayHintMs !== null && this.hintAttemptsLeft > 0 ? this.goingAwayHintMs : null;
      if (hint !== null) this.hintAttemptsLeft--;
      const delayMs = hint !== null ? goingAwayDelay(hint) : backoffDelay(this.backoff, this.attempt);
      // A planned restart does not grow the backoff: the server said when it will be back.
      this.attempt = hint !== null ? 0 : this.attempt + 1;
      this.emit('disconnected', { delayMs, attempt: Math.max(1, this.attempt) });
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.open();
      }, delayMs);
    };
  }
}

/** An ICE candidate in the wire form of ice_candidate.candidate. */
export function candidateInit(c: RTCIceCandidate) {
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
}
