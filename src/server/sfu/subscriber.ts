// One WHEP session: a peer connection that only sends, with a video and an
// audio track under one a=msid stream id (players attach event.streams[0]).
// Each outbound track has its own fixed SSRC, a NACK responder (measured: it
// turns 5 % loss from a 5.6 s freeze into none) and sender reports (so the
// player can line audio up with video); video passes this viewer's keyframe
// gate. A viewer that sends PLI or FIR has lost the picture: it gets no more
// video until the keyframe it asked for.
import { EventEmitter } from 'node:events';
import { Audio, RtcpNackResponder, RtcpSrReporter, RtpPacketizationConfig, Video, type Track } from 'node-datachannel';
import type { SfuEngine } from './engine.js';
import { KeyframeGate } from './gate.js';
import { decodes, sfuCodec, type SdpCodec, type ViewerChoice } from './offer.js';
import { SfuPeer, type EndReason, type PeerTimeouts } from './peer.js';
import { parseRtcp, writeSequenceNumber } from './rtp.js';
import type { InboundTrackInfo } from './types.js';

/**
 * Packets each video track keeps for retransmission: ~1.3 s at 1 Mbit/s, longer
 * than a NACK takes to come back on any path worth serving. Each viewer keeps
 * its own copies, so this is the SFU's largest memory cost per viewer.
 */
const NACK_HISTORY = 128;

/** What happened to one packet for one viewer. */
export enum Delivery {
  sent,
  /** Held back by the keyframe gate. */
  held,
  /** libdatachannel could not send it (socket buffer full, transport gone). */
  failed,
  /** The track is not open yet (DTLS not done) or no longer. */
  notOpen,
}

export interface OutboundIds {
  videoSsrc: number;
  audioSsrc: number;
  /** The a=msid stream id shared by both tracks, and the RTCP CNAME. */
  streamId: string;
  cname: string;
}

interface Outbound {
  track: Track;
  open: boolean;
  codecs: SdpCodec[];
}

export class SfuSubscriber extends EventEmitter<{ keyframe: []; closed: [reason: EndReason] }> {
  readonly peer: SfuPeer;
  private readonly video: Outbound | null;
  private readonly audio: Outbound | null;
  private readonly gate = new KeyframeGate();
  private bytesSent = 0;
  /** Fraction of our packets lost on the way to the viewer, 0–1, from its last receiver report. */
  loss: number | null = null;

  constructor(
    engine: SfuEngine,
    readonly id: string,
    /** The room member this session is (a standard player) or belongs to (a signalling viewer's ticket). */
    readonly viewerId: string,
    choice: { video?: ViewerChoice; audio?: ViewerChoice },
    ids: OutboundIds,
    timeouts: PeerTimeouts,
  ) {
    super();
    this.peer = new SfuPeer(engine, `whep-${id}`, timeouts);
    try {
      this.video = choice.video ? this.outbound('video', choice.video, ids.videoSsrc, ids) : null;
      this.audio = choice.audio ? this.outbound('audio', choice.audio, ids.audioSsrc, ids) : null;
    } catch (err) {
      // libdatachannel refused a description: the connection made for it goes too.
      this.peer.close('refused');
      throw err;
    }
    this.peer.on('closed', (reason) => {
      for (const o of [this.video, this.audio]) if (o) o.open = false;
      this.emit('closed', reason);
    });
  }

  get closed(): boolean {
    return this.peer.closed;
  }

  /** The payload type this viewer receives the publisher's track with, or -1 if it cannot decode it. */
  payloadTypeFor(track: InboundTrackInfo): number {
    const out = track.kind === 'video' ? this.video : this.audio;
    return out?.codecs.find((c) => decodes(c, track))?.payloadType ?? -1;
  }

  /** Send one video packet of its group (the copy is shared: only the sequence number is this viewer's). */
  forwardVideo(packet: Buffer, seq: number, keyframeStart: boolean): Delivery {
    const out = this.video;
    if (!out?.open) return Delivery.notOpen;
    const own = this.gate.pass(seq, keyframeStart);
    if (own < 0) return Delivery.held;
    writeSequenceNumber(packet, own);
    if (this.send(out, packet)) return Delivery.sent;
    // The decoder will miss this packet's frame and everything after it until a keyframe.
    this.gate.close();
    return Delivery.failed;
  }

  forwardAudio(packet: Buffer): Delivery {
    const out = this.audio;
    if (!out?.open) return Delivery.notOpen;
    return this.send(out, packet) ? Delivery.sent : Delivery.failed;
  }

  /** Bytes sent since the last call (a standard player's bitrate, once a second). */
  takeBytesSent(): number {
    const bytes = this.bytesSent;
    this.bytesSent = 0;
    return bytes;
  }

  /** A new source (the publisher was replaced): video waits for its first keyframe. */
  awaitKeyframe(): void {
    this.gate.close();
  }

  close(reason: EndReason): void {
    this.peer.close(reason);
  }

  private send(out: Outbound, packet: Buffer): boolean {
    try {
      if (!out.track.sendMessageBinary(packet)) return false;
    } catch {
      // Closed between our check and the call: the peer's own close follows.
      out.open = false;
      return false;
    }
    this.bytesSent += packet.length;
    return true;
  }

  private outbound(kind: 'audio' | 'video', choice: ViewerChoice, ssrc: number, ids: OutboundIds): Outbound {
    const first = choice.codecs[0]!;
    let media: Video | Audio;
    if (kind === 'video') {
      const video = new Video(choice.mid, 'SendOnly');
      for (const c of choice.codecs) {
        if (c.fmtp) video.addVideoCodec(c.payloadType, sfuCodec(c)!, c.fmtp);
        else video.addVideoCodec(c.payloadType, sfuCodec(c)!);
      }
      media = video;
    } else {
      const audio = new Audio(choice.mid, 'SendOnly');
      for (const c of choice.codecs) {
        const opus = `opus/${c.clockRate}/${c.channels ?? 2}`;
        if (c.fmtp) audio.addAudioCodec(c.payloadType, opus, c.fmtp);
        else audio.addAudioCodec(c.payloadType, opus);
      }
      media = audio;
    }
    media.addSSRC(ssrc, ids.cname, ids.streamId, `${ids.streamId}-${kind}`);
    const track = this.peer.pc.addTrack(media);
    const reporter = new RtcpSrReporter(new RtpPacketizationConfig(ssrc, ids.cname, first.payloadType, first.clockRate));
    // Audio is not NACKed (the answer offers no nack for Opus), so only video keeps a history.
    if (kind === 'video') reporter.addToChain(new RtcpNackResponder(NACK_HISTORY));
    track.setMediaHandler(reporter);
    const out: Outbound = { track, open: false, codecs: choice.codecs };
    track.onOpen(() => {
      if (this.closed) return;
      out.open = true;
      if (kind === 'video') this.gate.close();
    });
    track.onClosed(() => (out.open = false));
    track.onMessage((rtcp) => {
      if (this.closed) return;
      this.peer.activity++;
      this.feedback(rtcp);
    });
    return out;
  }

  private feedback(rtcp: Buffer): void {
    for (const p of parseRtcp(rtcp)) {
      if (p.type === 'pli' || p.type === 'fir') {
        if (this.gate.pictureLost()) this.emit('keyframe');
      } else if (p.type === 'report' && p.blocks.length) {
        this.loss = p.blocks[0]!.fractionLost;
      }
    }
  }
}
