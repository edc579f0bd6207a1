// One WHIP session: a peer connection that only receives, with a track per
// kind the publisher sends and the SFU takes. Its answer lists one codec per
// track with nack, nack pli and goog-remb and no transport-cc (measured with
// Chromium: a publisher that negotiates transport-cc and gets no feedback for
// it falls to ~30 kbit/s), and the SFU sends REMB for a ceiling instead. Every
// RTP packet that arrives is emitted as it is; keyframe requests from any
// number of viewers reach the publisher at most once a second.
import { EventEmitter } from 'node:events';
import { Audio, RtcpReceivingSession, Video, type Track } from 'node-datachannel';
import type { SfuEngine } from './engine.js';
import type { TrackChoice } from './offer.js';
import { SfuPeer, type EndReason, type PeerTimeouts } from './peer.js';
import type { InboundTrackInfo } from './types.js';

/** REMB ceiling: what a 720p camera needs; the publisher's own loss-based control still works below it. */
const PUBLISHER_MAX_BITRATE = 2_500_000;
/** Chromium sends no periodic keyframes; every request reaches it, but not more often than this. */
const KEYFRAME_INTERVAL_MS = 1_000;

export class SfuPublisher extends EventEmitter<{
  rtp: [track: InboundTrackInfo, packet: Buffer];
  /** A PLI went out. */
  keyframeRequested: [];
  closed: [reason: EndReason];
}> {
  readonly peer: SfuPeer;
  readonly tracks: InboundTrackInfo[];
  private videoTrack: Track | null = null;
  private lastKeyframeRequest = 0;
  private keyframeTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(engine: SfuEngine, id: string, choice: { video?: TrackChoice; audio?: TrackChoice }, timeouts: PeerTimeouts) {
    super();
    this.peer = new SfuPeer(engine, `whip-${id}`, timeouts);
    this.tracks = [];
    try {
      for (const c of [choice.video, choice.audio]) {
        if (!c) continue;
        const track = this.receive(c);
        if (c.info.kind === 'video') this.videoTrack = track;
        this.tracks.push(c.info);
      }
    } catch (err) {
      // libdatachannel refused a description: the connection made for it goes too.
      this.peer.close('refused');
      throw err;
    }
    this.peer.on('closed', (reason) => {
      if (this.keyframeTimer) clearTimeout(this.keyframeTimer);
      this.keyframeTimer = null;
      this.videoTrack = null;
      this.emit('closed', reason);
    });
  }

  get closed(): boolean {
    return this.peer.closed;
  }

  track(kind: 'audio' | 'video'): InboundTrackInfo | undefined {
    return this.tracks.find((t) => t.kind === kind);
  }

  /** Ask for a keyframe: now if the last request is a second old, else once when the second is up. */
  requestKeyframe(): void {
    if (this.closed || this.keyframeTimer || !this.videoTrack) return;
    const wait = this.lastKeyframeRequest + KEYFRAME_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.sendKeyframeRequest();
    this.keyframeTimer = setTimeout(() => {
      this.keyframeTimer = null;
      this.sendKeyframeRequest();
    }, wait);
  }

  close(reason: EndReason): void {
    this.peer.close(reason);
  }

  private sendKeyframeRequest(): void {
    const track = this.videoTrack;
    if (this.closed || !track) return;
    this.lastKeyframeRequest = Date.now();
    try {
      if (track.requestKeyframe()) this.emit('keyframeRequested');
    } catch {
      // The track closed under us (the peer's own close is on its way).
    }
  }

  private receive(choice: TrackChoice): Track {
    const { mid, info } = choice;
    let media: Video | Audio;
    if (info.kind === 'video') {
      const video = new Video(mid, 'RecvOnly');
      if (info.fmtp) video.addVideoCodec(info.payloadType, info.codec, info.fmtp);
      else video.addVideoCodec(info.payloadType, info.codec);
      media = video;
    } else {
      const audio = new Audio(mid, 'RecvOnly');
      const opus = `opus/${info.clockRate}/${info.channels ?? 2}`;
      if (info.fmtp) audio.addAudioCodec(info.payloadType, opus, info.fmtp);
      else audio.addAudioCodec(info.payloadType, opus);
      media = audio;
    }
    const track = this.peer.pc.addTrack(media);
    // Receiver reports, REMB and PLI come from this handler; it also keeps RTCP out of onMessage.
    track.setMediaHandler(new RtcpReceivingSession());
    let first = info.kind === 'video';
    track.onMessage((packet) => {
      if (this.closed) return;
      this.peer.activity++;
      // REMB names the publisher's SSRC, which the handler learns from the first packet; it is sent
      // again with every receiver report, each time the publisher's sender report comes.
      if (first) {
        first = false;
        track.requestBitrate(PUBLISHER_MAX_BITRATE);
      }
      this.emit('rtp', info, packet);
    });
    return track;
  }
}
