// Reading an RTCPeerConnection's getStats into the figures people look at:
// bitrate from byte deltas between samples, the path from the selected
// candidate pair, loss from packet deltas. DOM-free, one sampler per connection.
import type { ConnectionType, RelayProtocol } from '../../protocol/messages.js';
import { captureLatency } from './capture-time.js';

export interface PathInfo {
  type: ConnectionType;
  localCandidate: string;
  remoteCandidate: string;
  /** Transport between this browser and its first hop. */
  protocol: string;
  /** For a TURN path, how this browser reaches the TURN server (udp, tcp or tls). */
  turnProtocol?: RelayProtocol;
}

export interface Sample {
  at: number;
  /** kbit/s of audio and video together. */
  bitrate: number;
  videoBitrate: number;
  /**
   * Network speed, kbit/s: the congestion controller's estimate of what the
   * path carries where the browser gives one, else (inbound) what the whole
   * transport received per second; `speedSource` says which.
   */
  availableBitrate?: number;
  speedSource?: 'estimate' | 'measured' | 'relay';
  fps?: number;
  width?: number;
  height?: number;
  codec?: string;
  rtt?: number;
  /** Percent of packets lost since the previous sample (inbound) or as the receiver reports (outbound). */
  loss?: number;
  jitter?: number;
  freezes?: number;
  framesDecoded?: number;
  qualityLimitation?: string;
  encoder?: string;
  /**
   * Glass-to-glass, ms: measured from capture times (abs-capture-time on RTP,
   * the frame header on the relay), or estimated when the browser gives none.
   */
  latency?: number;
  /** The latency is RTT/2 + jitter-buffer delay + decode time, not a measurement. */
  latencyEstimated?: boolean;
  path: PathInfo | null;
}

/** The path of a viewer served by the server relay. */
export const SERVER_RELAY_PATH: PathInfo = { type: 'relay', localCandidate: 'server', remoteCandidate: 'server', protocol: 'websocket' };

type Stat = Record<string, unknown> & { type: string; id: string };

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The candidate pair ICE chose, found the way each browser exposes it. */
export function selectedPair(stats: Map<string, Stat>): Stat | undefined {
  for (const s of stats.values()) {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
      const pair = stats.get(s.selectedCandidatePairId);
      if (pair) return pair;
    }
  }
  // Firefox has no selectedCandidatePairId; it marks the pair itself.
  for (const s of stats.values()) {
    if (s.type === 'candidate-pair' && (s.selected === true || (s.nominated === true && s.state === 'succeeded'))) return s;
  }
  return undefined;
}

export function describePath(stats: Map<string, Stat>): PathInfo | null {
  const pair = selectedPair(stats);
  if (!pair) return null;
  const local = stats.get(String(pair.localCandidateId));
  const remote = stats.get(String(pair.remoteCandidateId));
  if (!local || !remote) return null;
  const localType = str(local.candidateType) ?? 'unknown';
  const remoteType = str(remote.candidateType) ?? 'unknown';
  const viaTurn = localType === 'relay' || remoteType === 'relay';
  // getStats calls a TURN candidate 'relay', and the transport to the TURN server its relayProtocol.
  const turnProtocol = str(local.relayProtocol);
  return {
    type: viaTurn ? 'turn' : 'p2p',
    localCandidate: localType,
    remoteCandidate: remoteType,
    protocol: str(local.protocol) ?? 'udp',
    ...(localType === 'relay' && (turnProtocol === 'udp' || turnProtocol === 'tcp' || turnProtocol === 'tls')
      ? { turnProtocol }
      : {}),
  };
}

interface Counters {
  at: number;
  bytes: number;
  /** Everything the transport received (RTP, RTCP, ICE, all streams), for a network speed with no estimate. */
  transportBytes: number;
  videoBytes: number;
  packets: number;
  lost: number;
  /** Seconds frames waited in the jitter buffer, and how many frames left it. */
  bufferDelay: number;
  bufferEmitted: number;
  decodeTime: number;
  decoded: number;
}

/** Per-frame average of a cumulative counter over the last interval, in ms. */
function perFrameMs(total: number, prevTotal: number, count: number, prevCount: number): number | undefined {
  const frames = count - prevCount;
  return frames > 0 ? ((total - prevTotal) / frames) * 1000 : undefined;
}

export class StatsSampler {
  private prev: Counters | null = null;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly direction: 'inbound' | 'outbound',
  ) {}

  async sample(): Promise<Sample> {
    const report = await this.pc.getStats();
    const stats = new Map<string, Stat>();
    report.forEach((s: Stat) => stats.set(s.id, s));
    const at = performance.now();
    const rtpType = this.direction === 'inbound' ? 'inbound-rtp' : 'outbound-rtp';
    const bytesKey = this.direction === 'inbound' ? 'bytesReceived' : 'bytesSent';

    let bytes = 0;
    let videoBytes = 0;
    let video: Stat | undefined;
    for (const s of stats.values()) {
      if (s.type !== rtpType) continue;
      const b = num(s[bytesKey]) ?? 0;
      bytes += b;
      if (s.kind === 'video') {
        videoBytes += b;
        // With simulcast or several SSRCs, describe the busiest stream.
        if (!video || b > (num(video[bytesKey]) ?? 0)) video = s;
      }
    }

    const pair = selectedPair(stats);
    const out: Sample = { at, bitrate: 0, videoBitrate: 0, path: describePath(stats) };
    const rtt = num(pair?.currentRoundTripTime);
    if (rtt !== undefined) out.rtt = Math.round(rtt * 1000);
    const available = num(this.direction === 'inbound' ? pair?.availableIncomingBitrate : pair?.availableOutgoingBitrate);
    if (available !== undefined) {
      out.availableBitrate = Math.round(available / 1000);
      out.speedSource = 'estimate';
    }
    // Chromium gives availableIncomingBitrate only with receive-side estimation (not with transport-cc), Firefox never.
    const transport = [...stats.values()].find((x) => x.type === 'transport');
    const transportBytes = num(transport?.bytesReceived) ?? num(pair?.bytesReceived) ?? 0;

    let packets = 0;
    let lost = 0;
    const counters = { bufferDelay: 0, bufferEmitted: 0, decodeTime: 0, decoded: 0 };
    if (video) {
      out.fps = num(video.framesPerSecond);
      out.width = num(video.frameWidth);
      out.height = num(video.frameHeight);
      const codec = stats.get(String(video.codecId));
      const mime = str(codec?.mimeType);
      if (mime) out.codec = mime.replace(/^video\//i, '');
      if (this.direction === 'inbound') {
        packets = num(video.packetsReceived) ?? 0;
        lost = Math.max(0, num(video.packetsLost) ?? 0);
        const jitter = num(video.jitter);
        if (jitter !== undefined) out.jitter = Math.round(jitter * 1000);
        out.freezes = num(video.freezeCount);
        out.framesDecoded = num(video.framesDecoded);
        counters.bufferDelay = num(video.jitterBufferDelay) ?? 0;
        counters.bufferEmitted = num(video.jitterBufferEmittedCount) ?? 0;
        counters.decodeTime = num(video.totalDecodeTime) ?? 0;
        counters.decoded = num(video.framesDecoded) ?? 0;
      } else {
        out.qualityLimitation = str(video.qualityLimitationReason);
        out.encoder = str(video.encoderImplementation);
        const remote = [...stats.values()].find((s) => s.type === 'remote-inbound-rtp' && s.kind === 'video');
        const fraction = num(remote?.fractionLost);
        if (fraction !== undefined) out.loss = Math.round(fraction * 1000) / 10;
        const remoteRtt = num(remote?.roundTripTime);
        if (out.rtt === undefined && remoteRtt !== undefined) out.rtt = Math.round(remoteRtt * 1000);
      }
    }

    const prev = this.prev;
    if (prev && at > prev.at) {
      const seconds = (at - prev.at) / 1000;
      out.bitrate = Math.max(0, Math.round(((bytes - prev.bytes) * 8) / seconds / 1000));
      out.videoBitrate = Math.max(0, Math.round(((videoBytes - prev.videoBytes) * 8) / seconds / 1000));
      if (this.direction === 'inbound' && out.availableBitrate === undefined && transportBytes >= prev.transportBytes) {
        out.availableBitrate = Math.round(((transportBytes - prev.transportBytes) * 8) / seconds / 1000);
        out.speedSource = 'measured';
      }
      if (this.direction === 'inbound') {
        const dPackets = packets - prev.packets;
        const dLost = lost - prev.lost;
        if (dPackets + dLost > 0) out.loss = Math.round((Math.max(0, dLost) / (dPackets + Math.max(0, dLost))) * 1000) / 10;
        this.latency(out, counters, prev);
      }
    }
    this.prev = { at, bytes, videoBytes, transportBytes, packets, lost, ...counters };
    return out;
  }

  /**
   * Measured from abs-capture-time where the sender stamps frames; otherwise
   * the parts the receiver can see — half the round trip, the jitter buffer
   * and decoding — flagged as an estimate (it misses capture and encoding).
   */
  private latency(out: Sample, now: Omit<Counters, 'at' | 'bytes' | 'videoBytes' | 'transportBytes' | 'packets' | 'lost'>, prev: Counters): void {
    const receiver = this.pc.getReceivers().find((r) => r.track.kind === 'video');
    const measured = receiver ? captureLatency(receiver) : undefined;
    if (measured !== undefined) {
      out.latency = measured;
      return;
    }
    const buffer = perFrameMs(now.bufferDelay, prev.bufferDelay, now.bufferEmitted, prev.bufferEmitted);
    const decode = perFrameMs(now.decodeTime, prev.decodeTime, now.decoded, prev.decoded);
    if (buffer === undefined || out.rtt === undefined) return;
    out.latency = Math.round(out.rtt / 2 + buffer + (decode ?? 0));
    out.latencyEstimated = true;
  }
}
