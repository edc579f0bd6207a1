// Node-side relay peers for tests and benchmarks: a publisher that sends a
// synthetic stream and viewers that record what reaches them.
import WebSocket from 'ws';
import { decodeRelayHeader, encodeRelayFrame, FrameKind, type RelayControl, type RelayFrameHeader } from '../../src/protocol/relay-frame.js';

export function frame(kind: FrameKind, opts: Partial<RelayFrameHeader> & { size?: number; seq?: number } = {}): Buffer {
  const payload = Buffer.alloc(opts.size ?? 100, opts.seq ?? 0);
  // The sequence number rides in the timestamp so receivers can check order.
  const header: RelayFrameHeader = {
    kind,
    keyframe: opts.keyframe ?? false,
    layer: opts.layer ?? 0,
    stream: 0,
    timestampUs: opts.timestampUs ?? (opts.seq ?? 0) * 33_333,
    durationUs: opts.durationUs ?? 33_333,
    captureMs: opts.captureMs ?? Date.now(),
  };
  return Buffer.from(encodeRelayFrame(header, payload));
}

export const videoConfig = (codec = 'vp8') => {
  const json = Buffer.from(JSON.stringify({ codec, codedWidth: 640, codedHeight: 360 }));
  return Buffer.from(encodeRelayFrame({ kind: FrameKind.videoConfig, keyframe: false, layer: 0, stream: 0, timestampUs: 0, durationUs: 0, captureMs: Date.now() }, json));
};

/** Temporal layer of frame i in an L1T3 pattern: 0 2 1 2 0 2 1 2 … */
export const l1t3Layer = (i: number) => (i % 4 === 0 ? 0 : i % 2 === 1 ? 2 : 1);

/** Resolves once the socket is open; listeners are attached before, so no early frame is missed. */
function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

export class RelayPublisherPeer {
  readonly controls: RelayControl[] = [];
  readonly ws: WebSocket;

  private constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.controls.push(JSON.parse(data.toString()) as RelayControl);
    });
  }

  static async connect(base: string, roomId: string, token: string): Promise<RelayPublisherPeer> {
    const peer = new RelayPublisherPeer(`${base}/relay?role=publish&room=${roomId}&token=${encodeURIComponent(token)}`);
    await opened(peer.ws);
    return peer;
  }

  send(frame: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(frame, { binary: true }, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.ws.terminate();
  }
}

export interface Received {
  kind: FrameKind;
  keyframe: boolean;
  layer: number;
  seq: number;
  bytes: number;
}

export class RelayViewerPeer {
  readonly frames: Received[] = [];
  readonly ws: WebSocket;
  private readonly waiters: (() => void)[] = [];

  private constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      const h = decodeRelayHeader(data);
      if (!h) throw new Error('not a relay frame');
      this.frames.push({ kind: h.kind, keyframe: h.keyframe, layer: h.layer, seq: data[data.length - 1] ?? 0, bytes: data.length });
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static async connect(base: string, ticket: string): Promise<RelayViewerPeer> {
    const peer = new RelayViewerPeer(`${base}/relay?role=view&ticket=${encodeURIComponent(ticket)}`);
    await opened(peer.ws);
    peer.ws.on('error', () => {});
    return peer;
  }

  /** Bytes of relay frames received so far (what an acknowledgement reports). */
  get bytes(): number {
    return this.frames.reduce((sum, f) => sum + f.bytes, 0);
  }

  ack(bytes = this.bytes): void {
    this.ws.send(JSON.stringify({ type: 'ack', bytes }));
  }

  /** Resolves when `count` frames have arrived (or rejects after timeoutMs). */
  async waitFor(count: number, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`got ${this.frames.length} of ${count} frames`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.terminate();
  }
}
