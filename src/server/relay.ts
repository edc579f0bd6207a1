// The server relay: the broadcaster publishes its encoded stream once over a
// WebSocket (/relay?role=publish), the server fans each frame out to the
// room's relay viewers (/relay?role=view) as the same Buffer, never a copy.
// A viewer that falls behind loses temporal layers first, then everything up
// to the next keyframe; one that stops reading is cut off, so a slow viewer
// never delays a fast one or the broadcaster and its memory stays bounded.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { FrameKind, routeOfRelayFrame, type RelayControl } from '../protocol/relay-frame.js';
import type { ServerMetrics } from './metrics.js';
import { decideDelivery, DEFAULT_RELAY_LIMITS, TOP_LAYER, type FrameArrival, type RelayLimits, type ViewerPacing } from './relay-pacing.js';
import type { RoomRegistry } from './rooms.js';

const KEYFRAME_REQUEST = JSON.stringify({ type: 'keyframe_request' } satisfies RelayControl);
/** {"type":"ack","bytes":N}, matched without a JSON parse: it comes ten times a second from every viewer. */
const ACK_PATTERN = /^\{"type":"ack","bytes":(\d{1,15})\}$/;

/** The stream rate's floor, bytes per ms (32 kbit/s), and what is assumed until measured (1 Mbit/s). */
const MIN_RATE = 4;
const INITIAL_RATE = 125;
/** The rate is re-measured over windows this long, averaged with the previous value. */
const RATE_WINDOW_MS = 250;

class RelayViewer implements ViewerPacing {
  waitingForKeyframe = true;
  maxLayer = TOP_LAYER;
  stalledSince = 0;
  bytesSent = 0;
  /** Total bytes the viewer says it has received; -1 until its first acknowledgement. */
  bytesAcked = -1;
  /** Frames sent and not yet acknowledged: [total bytes sent after the frame, when it was sent]. */
  private unacked: [number, number][] = [];
  private head = 0;

  sent(bytes: number, now: number): void {
    this.bytesSent += bytes;
    if (this.bytesAcked >= 0) this.unacked.push([this.bytesSent, now]);
  }

  acknowledge(bytes: number): void {
    this.bytesAcked = Math.min(bytes, this.bytesSent);
    while (this.head < this.unacked.length && this.unacked[this.head]![0] <= this.bytesAcked) this.head++;
    if (this.head > 256) {
      this.unacked = this.unacked.slice(this.head);
      this.head = 0;
    }
  }

  get backlogBytes(): number {
    const unacked = this.bytesAcked < 0 ? 0 : this.bytesSent - this.bytesAcked;
    return Math.max(this.socket.bufferedAmount, unacked);
  }

  /** How long the oldest unacknowledged frame has been on its way, ms (0 before acknowledgements start). */
  oldestUnackedMs(now: number): number {
    const oldest = this.unacked[this.head];
    return oldest ? now - oldest[1] : 0;
  }

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    readonly codecs: string[],
  ) {}
}

/**
 * Who feeds a room's relay stream: a broadcaster's /relay socket, or, inside
 * the server, the SFU's transmuxer (sfu/relay-bridge.ts). It hears how many
 * watch and what they decode, and when a keyframe is needed.
 */
export interface RelaySource {
  control(message: RelayControl): void;
  close(reason: string): void;
}

class RelayStream {
  publisher: RelaySource | null = null;
  videoConfig: Buffer | null = null;
  audioConfig: Buffer | null = null;
  /** The current GOP: the last keyframe and every video frame since. */
  gop: Buffer[] = [];
  gopBytes = 0;
  gopComplete = false;
  lastKeyframeRequest = 0;
  readonly viewers = new Map<string, RelayViewer>();
  /** The stream's rate, bytes per ms. */
  rate = INITIAL_RATE;
  private windowStart = 0;
  private windowBytes = 0;

  measure(bytes: number, now: number): void {
    if (!this.windowStart) this.windowStart = now;
    this.windowBytes += bytes;
    const elapsed = now - this.windowStart;
    if (elapsed < RATE_WINDOW_MS) return;
    this.rate = Math.max(MIN_RATE, (this.rate + this.windowBytes / elapsed) / 2);
    this.windowStart = now;
    this.windowBytes = 0;
  }

  constructor(readonly roomId: string) {}
}

interface Ticket {
  roomId: string;
  viewerId: string;
  codecs: string[];
  expires: number;
}

export interface RelayCounters {
  bytesIn: number;
  bytesOut: number;
  framesDropped: number;
  viewersCutOff: number;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

export class RelayHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024 * 1024, perMessageDeflate: false });
  private readonly streams = new Map<string, RelayStream>();
  private readonly tickets = new Map<string, Ticket>();
  readonly counters: RelayCounters = { bytesIn: 0, bytesOut: 0, framesDropped: 0, viewersCutOff: 0 };

  constructor(
    private readonly rooms: RoomRegistry,
    private readonly limits: RelayLimits = DEFAULT_RELAY_LIMITS,
    private readonly metrics?: ServerMetrics,
  ) {}

  /** A viewer asked for the relay (request_relay): the ticket lets its relay socket in. */
  issueTicket(roomId: string, viewerId: string, codecs: string[]): string {
    const now = Date.now();
    for (const [key, t] of this.tickets) if (t.expires < now) this.tickets.delete(key);
    const ticket = randomBytes(18).toString('base64url');
    this.tickets.set(ticket, { roomId, viewerId, codecs, expires: now + this.limits.ticketMs });
    return ticket;
  }

  /** The viewer left the room (or was removed, or disconnected): its relay socket goes too. */
  release(roomId: string, viewerId: string): void {
    this.streams.get(roomId)?.viewers.get(viewerId)?.socket.close(1000, 'left the room');
  }

  closeRoom(roomId: string): void {
    const stream = this.streams.get(roomId);
    if (!stream) return;
    this.streams.delete(roomId);
    stream.publisher?.close('room closed');
    for (const v of stream.viewers.values()) v.socket.close(1000, 'room closed');
  }

  viewerCount(roomId: string): number {
    return this.streams.get(roomId)?.viewers.size ?? 0;
  }

  close(): void {
    for (const id of [...this.streams.keys()]) this.closeRoom(id);
    this.wss.close();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const role = url.searchParams.get('role');
    const reject = (status: string): void => void socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    if (role === 'publish') {
      const roomId = url.searchParams.get('room') ?? '';
      const token = url.searchParams.get('token') ?? '';
      if (!this.rooms.holdsToken(roomId, token)) return reject('403 Forbidden');
      this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptPublisher(roomId, ws));
    } else if (role === 'view') {
      const ticket = this.tickets.get(url.searchParams.get('ticket') ?? '');
      if (!ticket || ticket.expires < Date.now() || !this.rooms.get(ticket.roomId)) return reject('403 Forbidden');
      this.tickets.delete(url.searchParams.get('ticket')!);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptViewer(ticket, ws));
    } else {
      reject('400 Bad Request');
    }
  }

  private stream(roomId: string): RelayStream {
    let stream = this.streams.get(roomId);
    if (!stream) this.streams.set(roomId, (stream = new RelayStream(roomId)));
    return stream;
  }

  /**
   * Feed a room's relay stream from inside the server: frames go to `publish`;
   * `detach` lets go (a source that is replaced is closed instead).
   */
  attachSource(roomId: string, source: RelaySource): { publish(frame: Buffer): void; detach(): void } {
    const stream = this.attach(roomId, source);
    return {
      publish: (frame) => {
        if (stream.publisher === source) this.publish(stream, frame);
      },
      detach: () => {
        if (stream.publisher === source) stream.publisher = null;
      },
    };
  }

  private acceptPublisher(roomId: string, ws: WebSocket): void {
    const source: RelaySource = {
      control: (message) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
      },
      close: (reason) => ws.close(1000, reason),
    };
    const stream = this.attach(roomId, source);
    ws.on('message', (data, isBinary) => {
      if (isBinary && stream.publisher === source) this.publish(stream, toBuffer(data));
    });
    ws.on('close', () => {
      if (stream.publisher === source) stream.publisher = null;
    });
    ws.on('error', () => ws.terminate());
  }

  /** A new publisher replaces the old one; viewers need a fresh keyframe from it. */
  private attach(roomId: string, source: RelaySource): RelayStream {
    const stream = this.stream(roomId);
    stream.publisher?.close('replaced');
    stream.publisher = source;
    stream.gop = [];
    stream.gopBytes = 0;
    stream.gopComplete = false;
    for (const v of stream.viewers.values()) v.waitingForKeyframe = true;
    this.tellPublisher(stream);
    return stream;
  }

  private acceptViewer(ticket: Ticket, ws: WebSocket): void {
    const stream = this.stream(ticket.roomId);
    stream.viewers.get(ticket.viewerId)?.socket.close(1000, 'replaced');
    const viewer = new RelayViewer(ticket.viewerId, ws, ticket.codecs);
    stream.viewers.set(viewer.id, viewer);
    ws.on('close', () => {
      if (stream.viewers.get(viewer.id) !== viewer) return;
      stream.viewers.delete(viewer.id);
      this.tellPublisher(stream);
    });
    ws.on('error', () => ws.terminate());
    // A viewer says two things: how many bytes it has received (every 100 ms),
    // and that its decoder lost the picture and needs a keyframe.
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (text === KEYFRAME_REQUEST) return this.requestKeyframe(stream);
      const ack = ACK_PATTERN.exec(text);
      if (ack) viewer.acknowledge(Number(ack[1]));
    });
    this.startViewer(stream, viewer);
    this.tellPublisher(stream);
  }

  /** A late joiner gets the decoder configs and the current GOP, so it starts on a keyframe at once. */
  private startViewer(stream: RelayStream, viewer: RelayViewer): void {
    if (stream.audioConfig) this.send(viewer, stream.audioConfig);
    if (stream.videoConfig) this.send(viewer, stream.videoConfig);
    if (stream.videoConfig && stream.gopComplete && stream.gop.length) {
      for (const frame of stream.gop) this.send(viewer, frame);
      viewer.waitingForKeyframe = false;
    } else {
      this.requestKeyframe(stream);
    }
  }

  private publish(stream: RelayStream, frame: Buffer): void {
    const route = routeOfRelayFrame(frame);
    if (!route) return;
    this.counters.bytesIn += frame.length;
    this.metrics?.relayBytes.inc({ direction: 'in' }, frame.length);
    const now = Date.now();
    stream.measure(frame.length, now);
    const { kind, keyframe, layer } = route;
    if (kind === FrameKind.videoConfig) {
      stream.videoConfig = frame;
      stream.gop = [];
      stream.gopBytes = 0;
      stream.gopComplete = false;
    } else if (kind === FrameKind.audioConfig) {
      stream.audioConfig = frame;
    } else if (kind === FrameKind.video) {
      this.keepInGop(stream, frame, keyframe);
    }
    for (const viewer of stream.viewers.values()) this.deliver(stream, viewer, frame, { now, kind, keyframe, layer });
  }

  private keepInGop(stream: RelayStream, frame: Buffer, keyframe: boolean): void {
    if (keyframe) {
      stream.gop = [frame];
      stream.gopBytes = frame.length;
      stream.gopComplete = true;
    } else if (stream.gopComplete) {
      stream.gop.push(frame);
      stream.gopBytes += frame.length;
      if (stream.gopBytes > this.limits.maxGopBytes) {
        stream.gop = [];
        stream.gopBytes = 0;
        stream.gopComplete = false;
      }
    }
  }

  private deliver(stream: RelayStream, viewer: RelayViewer, frame: Buffer, f: Omit<FrameArrival, 'backlogMs' | 'backlogBytes'>): void {
    const wasWaiting = viewer.waitingForKeyframe;
    const backlogBytes = viewer.backlogBytes;
    const backlogMs = Math.max(viewer.oldestUnackedMs(f.now), viewer.socket.bufferedAmount / stream.rate);
    const action = decideDelivery(viewer, { ...f, backlogBytes, backlogMs }, this.limits);
    if (action === 'cut_off') return this.cutOff(stream, viewer);
    if (viewer.waitingForKeyframe && !wasWaiting) this.requestKeyframe(stream);
    if (action === 'send') this.send(viewer, frame, f.now);
    else this.counters.framesDropped++;
  }

  private send(viewer: RelayViewer, frame: Buffer, now = Date.now()): void {
    if (viewer.socket.readyState !== viewer.socket.OPEN) return;
    viewer.socket.send(frame, { binary: true });
    viewer.sent(frame.length, now);
    this.counters.bytesOut += frame.length;
    this.metrics?.relayBytes.inc({ direction: 'out' }, frame.length);
  }

  private cutOff(stream: RelayStream, viewer: RelayViewer): void {
    this.counters.viewersCutOff++;
    stream.viewers.delete(viewer.id);
    viewer.socket.terminate();
    this.tellPublisher(stream);
  }

  private requestKeyframe(stream: RelayStream): void {
    const now = Date.now();
    if (now - stream.lastKeyframeRequest < this.limits.keyframeRequestMs) return;
    stream.lastKeyframeRequest = now;
    this.control(stream, { type: 'keyframe_request' });
  }

  /** The publisher encodes only while someone watches, in a codec every relay viewer decodes. */
  private tellPublisher(stream: RelayStream): void {
    // A viewer that did not say what it decodes does not narrow the choice.
    const lists = [...stream.viewers.values()].map((v) => v.codecs).filter((l) => l.length > 0);
    const codecs = lists.length ? lists.reduce((common, list) => common.filter((c) => list.includes(c))) : [];
    this.control(stream, { type: 'viewers', count: stream.viewers.size, codecs });
  }

  private control(stream: RelayStream, message: RelayControl): void {
    stream.publisher?.control(message);
  }
}
