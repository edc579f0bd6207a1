// A room's SFU feed: its current WHIP publisher and the WHEP viewers it fans
// out to. The feed outlives publishers: a second publisher (same token)
// replaces the first at once, and one that drops is waited for a little, so
// viewers keep their peer connections and continue on the new source (one
// outbound stream per kind, continuity.ts). Fan-out rewrites each packet once
// per payload-type group, never once per viewer: viewers that negotiated the
// same payload type share one copy, of which only the sequence number is
// theirs (written just before each send; libdatachannel copies on send).
import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ServerMetrics } from '../metrics.js';
import { StreamContinuity } from './continuity.js';
import { isKeyframeStart } from './keyframe.js';
import type { EndReason } from './peer.js';
import type { SfuPublisher } from './publisher.js';
import { readRtpHeader, rewriteRtp } from './rtp.js';
import { Delivery, type OutboundIds, type SfuSubscriber } from './subscriber.js';
import type { InboundTrackInfo } from './types.js';

class OutboundStream {
  readonly continuity: StreamContinuity;
  /** Viewers by the payload type they receive the current track with; null when it must be worked out again. */
  groups: Map<number, SfuSubscriber[]> | null = null;

  constructor(
    readonly ssrc: number,
    clockRate: number,
  ) {
    this.continuity = new StreamContinuity(clockRate);
  }
}

function counterChildren(metrics: ServerMetrics) {
  return {
    packets: { video: metrics.sfuPackets.labels('video'), audio: metrics.sfuPackets.labels('audio') },
    bytes: { video: metrics.sfuBytes.labels('video'), audio: metrics.sfuBytes.labels('audio') },
    held: metrics.sfuDropped.labels('keyframe_wait'),
    failed: metrics.sfuDropped.labels('send_failed'),
  };
}

export class SfuFeed extends EventEmitter<{ ended: [reason: EndReason] }> {
  publisher: SfuPublisher | null = null;
  /** The tracks of the current publisher, or of the last one while a replacement is awaited. */
  tracks: { video?: InboundTrackInfo; audio?: InboundTrackInfo } = {};
  readonly ids: OutboundIds;
  private readonly subscribers = new Set<SfuSubscriber>();
  private readonly video = new OutboundStream(randomInt(1, 2 ** 32), 90_000);
  private readonly audio = new OutboundStream(randomInt(1, 2 ** 32), 48_000);
  private readonly counters;
  private waitTimer: ReturnType<typeof setTimeout> | null = null;
  ended = false;

  constructor(
    readonly roomId: string,
    private readonly metrics: ServerMetrics,
    /** How long a publisher that dropped (not DELETEd) is waited for before the feed ends. */
    private readonly publisherGraceMs: number,
  ) {
    super();
    const streamId = `liveroom-${roomId}-${randomBytes(4).toString('hex')}`;
    this.ids = { videoSsrc: this.video.ssrc, audioSsrc: this.audio.ssrc, streamId, cname: streamId };
    this.counters = counterChildren(metrics);
  }

  get viewers(): ReadonlySet<SfuSubscriber> {
    return this.subscribers;
  }

  /** Take a publisher; the one before it (if any) is closed, and every viewer waits for the new source's keyframe. */
  setPublisher(publisher: SfuPublisher): void {
    const previous = this.publisher;
    this.publisher = publisher;
    this.clearWait();
    // Closed, it emits nothing more (its packets still queued are dropped).
    previous?.close('replaced');
    this.tracks = { video: publisher.track('video'), audio: publisher.track('audio') };
    for (const out of [this.video, this.audio]) {
      out.continuity.restart();
      out.groups = null;
    }
    for (const s of this.subscribers) s.awaitKeyframe();
    publisher.on('rtp', (track, packet) => this.forward(track, packet));
    publisher.on('keyframeRequested', () => this.metrics.sfuKeyframeRequests.inc());
    publisher.once('closed', (reason) => this.publisherClosed(publisher, reason));
  }

  addViewer(subscriber: SfuSubscriber): void {
    this.subscribers.add(subscriber);
    this.video.groups = this.audio.groups = null;
    subscriber.on('keyframe', () => this.publisher?.requestKeyframe());
    subscriber.once('closed', () => {
      this.subscribers.delete(subscriber);
      this.video.groups = this.audio.groups = null;
    });
  }

  /** The feed is over: its publisher and every viewer's session end. */
  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.clearWait();
    const publisher = this.publisher;
    this.publisher = null;
    publisher?.close(reason);
    const viewerReason: EndReason = reason === 'room_closed' || reason === 'shutdown' ? reason : 'publisher_gone';
    for (const s of [...this.subscribers]) s.close(viewerReason);
    this.emit('ended', reason);
  }

  private publisherClosed(publisher: SfuPublisher, reason: EndReason): void {
    if (this.publisher !== publisher || this.ended) return;
    this.publisher = null;
    // DELETE ends the broadcast; a lost connection may come back as a new POST with the same token.
    if (reason === 'deleted' || this.publisherGraceMs === 0) return this.end(reason);
    this.waitTimer = setTimeout(() => this.end(reason), this.publisherGraceMs);
  }

  private clearWait(): void {
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = null;
  }

  private groupsFor(out: OutboundStream, track: InboundTrackInfo): Map<number, SfuSubscriber[]> {
    if (out.groups) return out.groups;
    const groups = new Map<number, SfuSubscriber[]>();
    for (const s of this.subscribers) {
      const pt = s.payloadTypeFor(track);
      if (pt < 0) continue;
      const group = groups.get(pt);
      if (group) group.push(s);
      else groups.set(pt, [s]);
    }
    out.groups = groups;
    return groups;
  }

  /** One packet from the publisher to every viewer of its kind. */
  private forward(track: InboundTrackInfo, packet: Buffer): void {
    const header = readRtpHeader(packet);
    // A padding-only packet (a bandwidth probe) carries nothing a viewer needs.
    if (!header || header.payloadLength === 0) return;
    const video = track.kind === 'video';
    const out = video ? this.video : this.audio;
    out.continuity.map(header.ssrc, header.sequenceNumber, header.timestamp, Date.now());
    const groups = this.groupsFor(out, track);
    if (!groups.size) return;
    const { seq, timestamp } = out.continuity;
    const keyframeStart = video && isKeyframeStart(track.codec, packet, header.payloadOffset, header.payloadLength);
    let sent = 0;
    let held = 0;
    let failed = 0;
    for (const [payloadType, viewers] of groups) {
      const copy = rewriteRtp(packet, { payloadType, ssrc: out.ssrc, sequenceNumber: seq, timestamp });
      for (const viewer of viewers) {
        const result = video ? viewer.forwardVideo(copy, seq, keyframeStart) : viewer.forwardAudio(copy);
        if (result === Delivery.sent) sent++;
        else if (result === Delivery.held) held++;
        else if (result === Delivery.failed) failed++;
      }
    }
    const kind = video ? 'video' : 'audio';
    if (sent) {
      this.counters.packets[kind].inc(sent);
      this.counters.bytes[kind].inc(sent * packet.length);
    }
    if (held) this.counters.held.inc(held);
    if (failed) this.counters.failed.inc(failed);
    // Someone waits for a keyframe: ask (the publisher merges requests to one a second).
    if (held || failed) this.publisher?.requestKeyframe();
  }
}
