// A typed WebSocket test client for the signalling server. It queues every frame
// the server sends, checks each against the server schemas of the contract, and
// lets a test wait for the next message (of a type, optionally matching a
// predicate) or assert that nothing arrives for a while.
import WebSocket from 'ws';
import { serverSchemas, type ServerMessage, type ServerMessageOf, type ServerMessageType } from '../../src/protocol/messages.js';

/** Any server message as it arrived (forwarded signalling keeps unknown fields). */
export type Incoming = ServerMessage & Record<string, unknown>;

export interface NextOptions<M> {
  /** Only a message of the type that also satisfies this counts; earlier ones of that type are dropped. */
  where?: (message: M) => boolean;
  timeoutMs?: number;
}

export interface SilenceOptions {
  /** Message types that may arrive meanwhile (they are left in the queue). */
  ignore?: ServerMessageType[];
  /** Finer filter: messages for which this returns true are tolerated. */
  ignoreIf?: (message: Incoming) => boolean;
}

interface Waiter {
  match: (m: Incoming) => boolean;
  /** A message this waiter declares stale (same type, not matching) is dropped instead of queued. */
  discard?: ((m: Incoming) => boolean) | undefined;
  resolve: (m: Incoming) => void;
}

const DEFAULT_TIMEOUT_MS = 3_000;

export class TestClient {
  readonly ws: WebSocket;
  /** Messages received and not yet taken by next(). */
  readonly queue: Incoming[] = [];
  /** Every message ever received, in order (for debugging and silence checks). */
  readonly log: Incoming[] = [];
  /** Frames that broke the contract: not JSON, not an object, or not matching a server schema. */
  readonly violations: string[] = [];
  private waiters: Waiter[] = [];
  private closedPromise: Promise<{ code: number; reason: string }>;
  welcome!: ServerMessageOf<'welcome'>;

  private constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    this.closedPromise = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    // Errors surface as closes or as failed waits; an unhandled 'error' would crash the run.
    this.ws.on('error', () => {});
  }

  /** Open a connection and take the welcome, which must be the first frame. */
  static async connect(url: string, timeoutMs = DEFAULT_TIMEOUT_MS, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const client = new TestClient(url, options);
    await new Promise<void>((resolve, reject) => {
      client.ws.once('open', () => resolve());
      client.ws.once('error', reject);
    });
    const first = await client.nextAny(timeoutMs);
    if (first.type !== 'welcome') throw new Error(`first frame was ${JSON.stringify(first)}, not welcome`);
    client.welcome = first as ServerMessageOf<'welcome'>;
    return client;
  }

  get id(): string {
    return this.welcome.client_id;
  }

  /** Send a value as one JSON text frame. */
  send(message: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Send a frame exactly as given (text unless binary is set). */
  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** The very next message, whatever its type. */
  nextAny(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Incoming> {
    return this.take(() => true, 'any message', timeoutMs);
  }

  /**
   * The first queued or arriving message of `type` (messages of other types stay
   * queued). With `where`, messages of that type that do not match are dropped.
   */
  next<T extends ServerMessageType>(
    type: T,
    options: NextOptions<ServerMessageOf<T> & Record<string, unknown>> | number = {},
  ): Promise<ServerMessageOf<T> & Record<string, unknown>> {
    const { where, timeoutMs = DEFAULT_TIMEOUT_MS } = typeof options === 'number' ? { timeoutMs: options } : options;
    const typed = (m: Incoming) => m.type === type;
    const matches = (m: Incoming) => typed(m) && (!where || where(m as ServerMessageOf<T> & Record<string, unknown>));
    if (where) {
      // Stale messages of this type that do not match are not what the test waits for.
      for (let i = this.queue.length - 1; i >= 0; i--) {
        const m = this.queue[i]!;
        if (typed(m) && !matches(m)) this.queue.splice(i, 1);
      }
    }
    return this.take(matches, where ? `${type} matching the condition` : type, timeoutMs, where ? typed : undefined) as Promise<
      ServerMessageOf<T> & Record<string, unknown>
    >;
  }

  /** Shorthand: the next `error`, checked to carry `code`. */
  async nextError(code: ServerMessageOf<'error'>['code'], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerMessageOf<'error'>> {
    const error = await this.next('error', timeoutMs);
    if (error.code !== code) throw new Error(`expected error ${code}, got ${JSON.stringify(error)}`);
    return error;
  }

  /** ping -> pong: proves the connection is still served. */
  async roundTrip(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    this.send({ type: 'ping' });
    await this.next('pong', timeoutMs);
  }

  /** Assert that no message (apart from tolerated ones) is queued or arrives within `ms`. */
  async expectNothing(ms: number, options: SilenceOptions = {}): Promise<void> {
    const tolerated = (m: Incoming) =>
      (options.ignore?.includes(m.type) ?? false) || (options.ignoreIf?.(m) ?? false);
    const startIndex = this.log.length;
    const queued = this.queue.filter((m) => !tolerated(m));
    if (queued.length) throw new Error(`expected silence, but already queued: ${JSON.stringify(queued)}`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    const arrived = this.log.slice(startIndex).filter((m) => !tolerated(m));
    if (arrived.length) throw new Error(`expected silence for ${ms} ms, got: ${JSON.stringify(arrived)}`);
  }

  /** Drop queued messages (all, or those of the given types). */
  drain(...types: ServerMessageType[]): Incoming[] {
    const removed: Incoming[] = [];
    for (let i = 0; i < this.queue.length; ) {
      if (!types.length || types.includes(this.queue[i]!.type)) removed.push(...this.queue.splice(i, 1));
      else i++;
    }
    return removed;
  }

  /** Resolves when the socket has closed (by either side). */
  closed(): Promise<{ code: number; reason: string }> {
    return this.closedPromise;
  }

  /** Close from the client side and wait until the close handshake is done. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState !== WebSocket.CLOSING) this.ws.close();
    await this.closedPromise;
  }

  /** Cut the TCP connection without a close handshake (a crash or a dropped network). */
  async terminate(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.terminate();
    await this.closedPromise;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.violations.push('the server sent a binary frame');
      return;
    }
    const text = data.toString();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.violations.push(`not JSON: ${text.slice(0, 200)}`);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.violations.push(`not an object: ${text.slice(0, 200)}`);
      return;
    }
    const message = value as Incoming;
    const schema = (serverSchemas as Record<string, { safeParse(v: unknown): { success: boolean; error?: unknown } }>)[
      String(message.type)
    ];
    const checked = schema?.safeParse(message);
    if (!checked?.success) this.violations.push(`does not match the contract: ${text.slice(0, 500)}`);
    this.log.push(message);
    const index = this.waiters.findIndex((w) => w.match(message));
    if (index >= 0) {
      const [waiter] = this.waiters.splice(index, 1);
      waiter!.resolve(message);
    } else if (!this.waiters.some((w) => w.discard?.(message))) {
      this.queue.push(message);
    }
  }

  private take(
    match: (m: Incoming) => boolean,
    what: string,
    timeoutMs: number,
    discard?: (m: Incoming) => boolean,
  ): Promise<Incoming> {
    const index = this.queue.findIndex(match);
    if (index >= 0) return Promise.resolve(this.queue.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        discard,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; queued: ${JSON.stringify(this.queue.map((m) => m.type))}; ` +
              `last received: ${JSON.stringify(this.log.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

/**
 * The clients of one test file: connects them, and closes them all after each
 * test, reporting any frame that broke the contract.
 */
export class ClientPool {
  private clients: TestClient[] = [];

  constructor(private readonly url: () => string) {}

  async connect(url = this.url(), options?: WebSocket.ClientOptions): Promise<TestClient> {
    const client = await TestClient.connect(url, undefined, options);
    this.clients.push(client);
    return client;
  }

  async connectMany(n: number): Promise<TestClient[]> {
    return Promise.all(Array.from({ length: n }, () => this.connect()));
  }

  /** Close every client; returns every contract violation any of them saw. */
  async closeAll(): Promise<string[]> {
    const clients = this.clients;
    this.clients = [];
    await Promise.all(clients.map((c) => c.terminate()));
    return clients.flatMap((c) => c.violations);
  }
}

export interface OpenRoom {
  broadcaster: TestClient;
  roomId: string;
  token: string;
}

/** `create_room` on a fresh broadcaster, returning the room it got. */
export async function createRoom(broadcaster: TestClient): Promise<OpenRoom> {
  broadcaster.send({ type: 'create_room' });
  const created = await broadcaster.next('room_created');
  return { broadcaster, roomId: created.room_id, token: created.room_token };
}

/**
 * `join_room` as `viewer`; waits for room_joined and for the broadcaster's
 * viewer_joined about this viewer (when the broadcaster is present).
 */
export async function joinRoom(viewer: TestClient, roomId: string, broadcaster?: TestClient): Promise<ServerMessageOf<'room_joined'>> {
  viewer.send({ type: 'join_room', room_id: roomId });
  const joined = await viewer.next('room_joined');
  if (broadcaster) await broadcaster.next('viewer_joined', { where: (m) => m.viewer_id === viewer.id });
  return joined;
}

/** GET a path of the server and parse the JSON body. */
export async function getJson<T = unknown>(baseUrl: string, path: string): Promise<{ status: number; headers: Headers; body: T }> {
  const res = await fetch(baseUrl + path);
  const body = (await res.json()) as T;
  return { status: res.status, headers: res.headers, body };
}

export interface RoomListing {
  room_id: string;
  viewer_count: number;
  created_at: string;
  [key: string]: unknown;
}

/** The /api/rooms listing as a map from room id to viewer count. */
export async function listedRooms(baseUrl: string): Promise<Map<string, number>> {
  const { body } = await getJson<{ rooms: RoomListing[] }>(baseUrl, '/api/rooms');
  return new Map(body.rooms.map((r) => [r.room_id, r.viewer_count]));
}

/** A six-digit id that is not a live room of this registry. */
export function freeRoomId(rooms: { get(id: string): unknown }): string {
  for (;;) {
    const id = String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0');
    if (!rooms.get(id)) return id;
  }
}

/** Retry `attempt` until it resolves (for waits whose start is not an event, e.g. a refilling rate limit). */
export async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20)); // a poll interval, not a wait for an event
    }
  }
}
