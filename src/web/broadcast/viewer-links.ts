// The broadcaster's peer-to-peer (and TURN) viewers: one PeerLink each, with
// its codec and its adaptive bitrate, plus one spare link made before any
// viewer needs it (senders added, offer set, candidates gathering), so a new
// viewer's offer goes out the moment the server announces it.
import type { ClientMessage, VideoCodec } from '../../protocol/messages.js';
import { negotiateCaptureTime } from '../rtc/capture-time.js';
import { orderCodecs } from '../rtc/codecs.js';
import { PeerLink } from '../rtc/peer-link.js';
import { signalMessage } from '../signalling/peer-signal.js';
import type { Sample } from '../rtc/stats-sampler.js';
import type { Rung } from '../watch/connection-ladder.js';
import { AdaptiveBitrate, applyLevel as withLevel, levelMessage, type AbrReason } from './adaptive-bitrate.js';
import type { TrackKind } from './capture.js';
import type { CodecPolicy } from './codec-policy.js';
import { PRESETS, type Quality } from './media.js';
import { peerViewerInfo, type ViewerInfo } from './stats.js';

/**
 * The next spare is made once the viewer that took the last one is connected
 * (its set-up no longer competes for the CPU), or this long after, whichever
 * comes first: viewers arriving in a burst each find one ready.
 */
const SPARE_DELAY_MS = 2_000;

interface ViewerLink {
  readonly id: string;
  readonly peer: PeerLink;
  /** The rung of its connection ladder the viewer asked for. */
  rung: Rung;
  /** What the viewer said it decodes (undefined: an older client that did not say). */
  readonly receivable: VideoCodec[] | undefined;
  /** The codec its offer puts first. */
  codec: VideoCodec | null;
  readonly abr: AdaptiveBitrate;
}

/** A link made before its viewer: the codec its offer leads with is the one for a viewer that decodes everything. */
interface Spare {
  peer: PeerLink;
  codec: VideoCodec | null;
}

export interface ViewerLinksContext {
  stream(): MediaStream | null;
  quality(): Quality;
  iceServers(): RTCIceServer[];
  readonly codecs: CodecPolicy;
  send(message: ClientMessage): void;
  /** A link was added, removed, or changed state. */
  changed(): void;
}

export class ViewerLinks {
  private readonly links = new Map<string, ViewerLink>();
  private spare: Spare | null = null;
  private spareTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly ctx: ViewerLinksContext) {}

  get size(): number {
    return this.links.size;
  }

  has(viewerId: string): boolean {
    return this.links.has(viewerId);
  }

  /** A new viewer: the spare (or a fresh link) is offered to it at once, led by the codec it should get. */
  add(viewerId: string, receivable: VideoCodec[] | undefined): void {
    const spare = this.takeSpare() ?? this.makeSpare();
    if (!spare) return;
    const link: ViewerLink = { id: viewerId, peer: spare.peer, rung: 'direct', receivable, codec: spare.codec, abr: new AdaptiveBitrate(this.ctx.quality()) };
    this.links.set(viewerId, link);
    const { peer } = link;
    peer.on('signal', (s) => this.ctx.send(signalMessage(s, viewerId)));
    // The first level's cap rides on the viewer's answer.
    void peer.setBandwidthCap(link.abr.level.linkBitrate / 1000);
    peer.on('state', (state) => {
      if (state === 'connected' || state === 'failed') this.prepareSpare(0);
      this.ctx.changed();
    });
    // The spare was offered with the codec most viewers get; this viewer may decode less (or the
    // ceiling moved since): a new offer on a connection already set up costs milliseconds, not the set-up.
    if (!this.reorderCodecs(link)) void peer.sendOffer();
    this.prepareSpare(SPARE_DELAY_MS);
  }

  remove(viewerId: string): boolean {
    const link = this.links.get(viewerId);
    if (!link) return false;
    link.peer.close();
    this.links.delete(viewerId);
    return true;
  }

  removeAll(): void {
    for (const id of [...this.links.keys()]) this.remove(id);
  }

  onAnswer(viewerId: string, sdp: string): void {
    const link = this.links.get(viewerId);
    if (!link) return;
    void link.peer.acceptAnswer(sdp);
    void this.applyLevel(link, 'start');
  }

  onCandidate(viewerId: string, candidate: RTCIceCandidateInit): void {
    this.links.get(viewerId)?.peer.addRemoteCandidate(candidate);
  }

  /** The viewer's ladder moved: restart ICE with its policy (TURN only on the second rung) in a fresh offer. */
  onIceRestart(viewerId: string, turnOnly: boolean): void {
    const link = this.links.get(viewerId);
    if (!link) return;
    link.rung = turnOnly ? 'turn' : 'direct';
    void link.peer.restartIce(turnOnly);
  }

  /** The camera or microphone changed: every link (and the spare) sends the new track. */
  async replaceTrack(kind: TrackKind, track: MediaStreamTrack | null): Promise<void> {
    const peers = [...[...this.links.values()].map((l) => l.peer), ...(this.spare ? [this.spare.peer] : [])];
    await Promise.all(peers.map((p) => p.sender(kind)?.replaceTrack(track)));
  }

  /** A new preset is a new ceiling: every link starts again at its top level. */
  async setQuality(quality: Quality): Promise<void> {
    await Promise.all(
      [...this.links.values()].map((link) => {
        link.abr.setQuality(quality);
        return this.applyLevel(link, 'preset');
      }),
    );
  }

  /** Renegotiate every viewer whose codec is no longer the one the policy chooses. */
  applyCodecs(): void {
    for (const link of this.links.values()) this.reorderCodecs(link);
  }

  /** The codecs in use, for the CPU step-down. */
  codecsInUse(): VideoCodec[] {
    return [...this.links.values()].map((l) => l.codec).filter((c): c is VideoCodec => c !== null);
  }

  /** Sample every live link and feed its adaptive bitrate; the samples of those that have one. */
  async sample(): Promise<Sample[]> {
    const live = [...this.links.values()].filter((l) => !l.peer.isClosed);
    await Promise.all(live.map(async (l) => this.adapt(l, await l.peer.sample())));
    return live.map((l) => l.peer.lastSample).filter((s): s is Sample => s !== null);
  }

  viewers(): ViewerInfo[] {
    return [...this.links.values()].map((l) => peerViewerInfo({ id: l.id, state: l.peer.state, rung: l.rung, codec: l.codec, level: l.abr.level }, l.peer.lastSample));
  }

  /** Make the spare after `delayMs`, unless there is one. */
  prepareSpare(delayMs: number): void {
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.spareTimer = setTimeout(() => {
      this.spareTimer = null;
      if (!this.spare && !this.stopped) this.spare = this.makeSpare();
    }, delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.spare?.peer.close();
    this.spare = null;
    this.removeAll();
  }

  private takeSpare(): Spare | null {
    const spare = this.spare;
    this.spare = null;
    return spare && !spare.peer.isClosed ? spare : null;
  }

  /** A link with its senders and its offer, ready for any viewer; null before the camera is open. */
  private makeSpare(): Spare | null {
    const stream = this.ctx.stream();
    if (!stream || this.stopped) return null;
    const peer = new PeerLink({ iceServers: this.ctx.iceServers(), direction: 'outbound', label: 'viewer link' });
    // Always one audio and one video sender, even with no microphone, so a
    // device switch later is a replaceTrack and never a renegotiation.
    peer.pc.addTransceiver(stream.getAudioTracks()[0] ?? 'audio', { direction: 'sendonly', streams: [stream] });
    const video = peer.pc.addTransceiver(stream.getVideoTracks()[0] ?? 'video', {
      direction: 'sendonly',
      streams: [stream],
      // The preset's ceiling: a new link's adaptive bitrate starts at its top level.
      sendEncodings: [{ maxBitrate: PRESETS[this.ctx.quality()].maxBitrate }],
    });
    const codec = this.ctx.codecs.codecFor(undefined);
    orderCodecs(video, RTCRtpSender.getCapabilities?.('video')?.codecs, codec);
    negotiateCaptureTime(video);
    void peer.prepareOffer();
    return { peer, codec };
  }

  /** Lead the link's offer with the codec the policy chooses now; true when that needs a new offer (sent). */
  private reorderCodecs(link: ViewerLink): boolean {
    const wanted = this.ctx.codecs.codecFor(link.receivable);
    const video = link.peer.transceiver('video');
    if (wanted === link.codec || !video || link.peer.isClosed) return false;
    orderCodecs(video, RTCRtpSender.getCapabilities?.('video')?.codecs, wanted);
    link.codec = wanted;
    void link.peer.renegotiate();
    return true;
  }

  /**
   * Put the link's level on it — the encoder's bitrate and size, and the cap on
   * the whole link — then tell the viewer. In the link's queue, so it never
   * interleaves with a negotiation or with another level.
   */
  private async applyLevel(link: ViewerLink, reason: AbrReason): Promise<void> {
    const level = link.abr.level;
    void link.peer.run(async () => {
      const sender = link.peer.sender('video');
      const params = sender?.getParameters();
      if (sender && params?.encodings?.length) await sender.setParameters(withLevel(params, level));
    });
    await link.peer.setBandwidthCap(level.linkBitrate / 1000);
    this.sendLevel(link, reason);
  }

  /** Feed the link's sample to its adaptive bitrate; apply and announce a new level. */
  private adapt(link: ViewerLink, s: Sample | null): void {
    if (!s || link.peer.state !== 'connected') return;
    const d = link.abr.update({
      at: s.at,
      loss: s.loss,
      rtt: s.rtt,
      availableBitrate: s.availableBitrate,
      sentBitrate: s.videoBitrate,
      qualityLimitation: s.qualityLimitation,
    });
    if (d.changed) void this.applyLevel(link, d.reason ?? 'start');
  }

  private sendLevel(link: ViewerLink, reason: AbrReason): void {
    if (!link.peer.isClosed) this.ctx.send(levelMessage(link.id, link.abr.level, reason));
  }
}
