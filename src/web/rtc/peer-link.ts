// One RTCPeerConnection and everything that must happen on it in order: offers
// and answers, remote candidates that arrive before the description they belong
// to, renegotiation and ICE restarts, and the stats sampler. The broadcaster's
// link to each viewer and the viewer's link to the broadcaster are both a
// PeerLink; what they say to each other leaves as `signal` events, so the link
// knows nothing of the signalling socket.
//
// The broadcaster is always the offerer. Negotiation steps run one at a time in
// a queue; a renegotiation asked for while an offer is out waits for its answer
// (offers never cross), and requests made meanwhile merge into one offer.
import { Emitter } from '../emitter.js';
import { sanitizeSdp, withVideoBandwidth } from './sdp.js';
import { StatsSampler, type Sample } from './stats-sampler.js';

/** An ICE candidate in the wire form of ice_candidate.candidate. */
export type CandidateInit = {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
};

export function candidateInit(c: RTCIceCandidate): CandidateInit {
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
}

/** What this side sends the other: a description (repaired by sanitizeSdp), or a candidate gathered after it. */
export type LocalSignal = { type: 'offer'; sdp: string } | { type: 'answer'; sdp: string } | { type: 'candidate'; candidate: CandidateInit };

export interface PeerLinkEvents {
  signal: LocalSignal;
  track: RTCTrackEvent;
  state: RTCPeerConnectionState;
}

export interface PeerLinkOptions {
  iceServers: RTCIceServer[];
  /** Gather TURN candidates only: the other side never learns this browser's addresses. */
  turnOnly?: boolean;
  /** Which RTP streams the stats sampler reads: what this side sends, or what it receives. */
  direction: 'outbound' | 'inbound';
  /** How long a renegotiation waits for the answer to the offer that is out before it replaces that offer. */
  answerTimeoutMs?: number;
  /** Named in the warnings of failed steps. */
  label?: string;
  /** Tests pass a fake; the browser's RTCPeerConnection otherwise. */
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
}

const DEFAULT_ANSWER_TIMEOUT_MS = 5_000;

export class PeerLink extends Emitter<PeerLinkEvents> {
  readonly pc: RTCPeerConnection;
  /** The latest stats sample (kept when a getStats call fails). */
  lastSample: Sample | null = null;
  private readonly sampler: StatsSampler;
  private queue: Promise<unknown> = Promise.resolve();
  /** Remote candidates that came before any remote description. */
  private readonly early: RTCIceCandidateInit[] = [];
  /**
   * Whether a description has gone out. Until then a gathered candidate goes
   * nowhere: the description, read when it is sent, already holds it.
   */
  private announced = false;
  private awaitingAnswer = false;
  /** A renegotiation asked for while an offer was out. */
  private deferred: { iceRestart: boolean } | null = null;
  private answerTimer: ReturnType<typeof setTimeout> | null = null;
  /** The most the whole connection may carry, kbit/s (setBandwidthCap); null: no cap of ours. */
  private capKbps: number | null = null;
  private closed = false;

  constructor(private readonly options: PeerLinkOptions) {
    super();
    const create = options.createPeerConnection ?? ((config: RTCConfiguration) => new RTCPeerConnection(config));
    const pc = create({
      iceServers: options.iceServers,
      bundlePolicy: 'max-bundle',
      ...(options.turnOnly ? { iceTransportPolicy: 'relay' as const } : {}),
    });
    this.pc = pc;
    this.sampler = new StatsSampler(pc, options.direction);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && this.announced) this.emit('signal', { type: 'candidate', candidate: candidateInit(candidate) });
    };
    pc.ontrack = (event) => this.emit('track', event);
    pc.onconnectionstatechange = () => this.emit('state', pc.connectionState);
  }

  get state(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queue a step behind every step before it. A step that fails is logged
   * (quietly once the link is closed) and the queue carries on.
   */
  run<T>(step: () => Promise<T> | T): Promise<T | undefined> {
    const next = this.queue.then(step).catch((err: unknown) => {
      if (!this.closed) console.warn(`${this.options.label ?? 'peer link'}:`, err);
      return undefined;
    });
    this.queue = next;
    return next;
  }

  /** Make an offer and set it locally, not sent yet: a connection ready before its viewer exists. */
  prepareOffer(): Promise<void> {
    return this.run(() => this.createOffer(false)).then(() => undefined);
  }

  /**
   * Send the prepared offer as it stands (the candidates gathered so far are
   * in it; later ones trickle), or a new one if none could be prepared.
   */
  sendOffer(): Promise<void> {
    return this.run(async () => {
      if (this.pc.localDescription?.type !== 'offer') await this.createOffer(false);
      this.announceOffer();
    }).then(() => undefined);
  }

  /**
   * Negotiate again: a new offer on the same connection (a codec change, an
   * ICE restart). With an offer out and unanswered it waits for the answer,
   * or for answerTimeoutMs, whichever comes first.
   */
  renegotiate(options: { iceRestart?: boolean } = {}): Promise<void> {
    return this.run(() => this.offerStep(options.iceRestart ?? false)).then(() => undefined);
  }

  /** Restart ICE in a new offer, with TURN candidates only or with every path. */
  restartIce(turnOnly: boolean): Promise<void> {
    this.setTurnOnly(turnOnly);
    return this.renegotiate({ iceRestart: true });
  }

  /** Gather TURN candidates only from now on (or every kind again). */
  setTurnOnly(turnOnly: boolean): void {
    this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceTransportPolicy: turnOnly ? 'relay' : 'all' });
  }

  get turnOnly(): boolean {
    return this.pc.getConfiguration().iceTransportPolicy === 'relay';
  }

  /** The other side's answer to our offer; a renegotiation that waited for it goes out next. */
  acceptAnswer(sdp: string): Promise<void> {
    return this.run(async () => {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: this.capped(sanitizeSdp(sdp)) });
      this.answered();
      await this.flushEarlyCandidates();
      const waiting = this.deferred;
      this.deferred = null;
      if (waiting) await this.offerStep(waiting.iceRestart);
    }).then(() => undefined);
  }

  /**
   * Take the other side's offer and answer it. `shape` runs between the two
   * descriptions, when the transceivers exist (codec preferences, header
   * extensions). Resolves with the answer as sent, or null if a step failed.
   */
  acceptOffer(sdp: string, shape?: (pc: RTCPeerConnection) => void): Promise<string | null> {
    return this.run(async () => {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: sanitizeSdp(sdp) });
      await this.flushEarlyCandidates();
      shape?.(this.pc);
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      const answer = sanitizeSdp(this.pc.localDescription!.sdp);
      this.announced = true;
      this.emit('signal', { type: 'answer', sdp: answer });
      return answer;
    }).then((answer) => answer ?? null);
  }

  /**
   * Cap what this side sends on the whole connection — media, retransmissions
   * and the congestion controller's padding and probes — at `kbps`. An
   * encoder's maxBitrate bounds only the encoder: under loss Chromium pads the
   * link up to its own estimate with old packets sent again (10 % loss at a
   * 150 kbit/s level carried up to 2 Mbit/s, measured: docs/BENCHMARKS.md).
   * Chromium takes a remote answer's video b=AS as the transport's maximum,
   * so the cap goes on the other side's answer: set again now on a fresh
   * local offer that is never sent (nothing changes for the other side), and
   * on every answer after. For the offering side only.
   */
  setBandwidthCap(kbps: number): Promise<void> {
    this.capKbps = kbps;
    return this.run(async () => {
      const answer = this.pc.remoteDescription;
      if (this.pc.signalingState !== 'stable' || answer?.type !== 'answer') return;
      const sdp = this.capped(answer.sdp);
      if (sdp === answer.sdp) return;
      await this.pc.setLocalDescription(await this.pc.createOffer());
      try {
        await this.pc.setRemoteDescription({ type: 'answer', sdp });
      } catch (err) {
        // Back to the last negotiated state, so the next real offer starts from 'stable'.
        await this.pc.setLocalDescription({ type: 'rollback' });
        throw err;
      }
    }).then(() => undefined);
  }

  /**
   * A candidate from the other side, added in the order it came among the
   * descriptions (one sent after a new offer waits for that offer); before any
   * remote description it is held until the first one is set.
   */
  addRemoteCandidate(candidate: RTCIceCandidateInit): void {
    void this.run(async () => {
      if (!this.pc.remoteDescription) this.early.push(candidate);
      else await this.pc.addIceCandidate(candidate);
    });
  }

  transceiver(kind: 'audio' | 'video'): RTCRtpTransceiver | undefined {
    return this.pc.getTransceivers().find((t) => t.receiver.track.kind === kind);
  }

  sender(kind: 'audio' | 'video'): RTCRtpSender | undefined {
    return this.transceiver(kind)?.sender;
  }

  /** Read getStats into a sample; a failed read keeps the previous one. */
  async sample(): Promise<Sample | null> {
    this.lastSample = await this.sampler.sample().catch(() => this.lastSample);
    return this.lastSample;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.answered();
    this.deferred = null;
    this.pc.close();
  }

  private async offerStep(iceRestart: boolean): Promise<void> {
    if (this.awaitingAnswer) {
      this.deferred = { iceRestart: iceRestart || (this.deferred?.iceRestart ?? false) };
      this.answerTimer ??= setTimeout(() => this.answerOverdue(), this.options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS);
      return;
    }
    await this.createOffer(iceRestart);
    this.announceOffer();
  }

  /** No answer came: the waiting renegotiation replaces the offer that is out. */
  private answerOverdue(): void {
    this.answerTimer = null;
    const waiting = this.deferred;
    if (!waiting || this.closed) return;
    this.deferred = null;
    this.awaitingAnswer = false;
    void this.run(() => this.offerStep(waiting.iceRestart));
  }

  private async createOffer(iceRestart: boolean): Promise<void> {
    await this.pc.setLocalDescription(await this.pc.createOffer(iceRestart ? { iceRestart: true } : {}));
  }

  private announceOffer(): void {
    const local = this.pc.localDescription!;
    this.announced = true;
    this.awaitingAnswer = true;
    this.emit('signal', { type: 'offer', sdp: sanitizeSdp(local.sdp) });
  }

  private capped(answer: string): string {
    return this.capKbps === null ? answer : withVideoBandwidth(answer, this.capKbps);
  }

  private answered(): void {
    this.awaitingAnswer = false;
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.answerTimer = null;
  }

  /** One unusable candidate must not cost the description its answer. */
  private async flushEarlyCandidates(): Promise<void> {
    for (const c of this.early.splice(0)) {
      await this.pc.addIceCandidate(c).catch((err: unknown) => console.warn(`${this.options.label ?? 'peer link'}: candidate refused`, err));
    }
  }
}
