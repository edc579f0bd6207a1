// One server-side peer connection's life: answer an offer with every
// candidate in it (WHIP and WHEP have no server-side trickle), take the
// client's trickled candidates, and end — on request, when ICE never connects
// within the timeout, when the path stays lost, or when it fails — freeing the
// connection and every timer exactly once.
import { EventEmitter } from 'node:events';
import type { PeerConnection } from 'node-datachannel';
import type { SfuEngine } from './engine.js';
import { announceAddress, splitCandidates } from './sdp-text.js';

/** How long the answer waits for candidates: host ones come at once, a STUN server that does not answer takes ~20 s. */
const GATHER_WAIT_MS = 2_000;
/**
 * How long after the answer is sent the server starts checking the offer's own
 * candidates: long enough for any client to have set the answer (see answer()),
 * short against the connect timeout. The client's checks usually connect first.
 */
const OFFERED_CANDIDATES_DELAY_MS = 1_000;

export type EndReason = 'refused' | 'deleted' | 'replaced' | 'ice_timeout' | 'ice_failed' | 'disconnected' | 'idle' | 'room_closed' | 'publisher_gone' | 'left' | 'shutdown';

export interface PeerTimeouts {
  /** ICE must connect within this long after the answer. */
  connectMs: number;
  /** A connection that lost its path ('disconnected') ends if it is not back within this long. */
  disconnectedMs: number;
  /**
   * A connected session from which nothing arrives (RTP from a publisher, RTCP
   * from a player) for this long has been abandoned. libjuice itself notices a
   * peer that vanished only after ~40 s (measured), and libdatachannel sends
   * no close notice when a peer closes.
   */
  idleMs: number;
}

export class SfuPeer extends EventEmitter<{ closed: [reason: EndReason] }> {
  readonly pc: PeerConnection;
  private ended: EndReason | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private lostTimer: ReturnType<typeof setTimeout> | null = null;
  private offeredTimer: ReturnType<typeof setTimeout> | null = null;
  /** Bumped for every packet from the client (kept cheap: it is per packet). */
  activity = 0;
  private connected = false;
  private seenActivity = 0;
  private activeAt = 0;
  /** The client's ICE username fragment, to tell a trickle PATCH from an ICE restart. */
  remoteUfrag = '';
  /** The offer's own candidates, held until the answer is on its way (see answer()). */
  private offered: { candidate: string; mid: string }[] = [];

  constructor(
    private readonly engine: SfuEngine,
    label: string,
    private readonly timeouts: PeerTimeouts,
  ) {
    super();
    this.pc = engine.create(label);
    this.pc.onStateChange((state) => this.onState(state));
  }

  get closed(): boolean {
    return this.ended !== null;
  }

  /**
   * Set the client's offer and give back the answer with all of the server's
   * candidates. The offer's candidates (OBS sends them all) are held back until
   * a while after the answer has been sent (useOfferedCandidates): with them the
   * server connects ICE and starts DTLS (it is the DTLS client) at once, and a
   * libdatachannel client — OBS — that gets the DTLS hello before it has set the
   * answer cannot check the certificate and fails (measured: about one offer in
   * three on loopback, even when they were added just after the answer was
   * written). Without them the client's own checks, which start once it has the
   * answer, open the path.
   */
  async answer(offerSdp: string): Promise<string> {
    const { sdp, candidates } = splitCandidates(offerSdp);
    this.offered = candidates;
    const gathered = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, GATHER_WAIT_MS);
      this.pc.onGatheringStateChange((state) => {
        if (state !== 'complete') return;
        clearTimeout(timer);
        resolve();
      });
    });
    this.pc.setRemoteDescription(sdp, 'offer');
    this.remoteUfrag = /^a=ice-ufrag:(\S+)/m.exec(offerSdp)?.[1] ?? '';
    await gathered;
    if (this.closed) throw new Error('the session ended while its answer was made');
    const local = this.pc.localDescription();
    if (!local) throw new Error('libdatachannel made no answer');
    this.connectTimer = setTimeout(() => this.close('ice_timeout'), this.timeouts.connectMs);
    const ip = this.engine.announcedIp;
    return ip ? announceAddress(local.sdp, ip) : local.sdp;
  }

  /** The answer is sent: soon the server tries the offer's candidates too (they help where the client's checks are lost). */
  useOfferedCandidates(): void {
    if (this.closed || !this.offered.length) return;
    this.offeredTimer = setTimeout(() => {
      this.offeredTimer = null;
      for (const c of this.offered.splice(0)) {
        try {
          this.addRemoteCandidate(c.candidate, c.mid);
        } catch {
          // A candidate libdatachannel cannot use (an mDNS name, a TCP one) is simply not tried.
        }
      }
    }, OFFERED_CANDIDATES_DELAY_MS);
  }

  /** A candidate trickled by the client (PATCH). */
  addRemoteCandidate(candidate: string, mid: string): void {
    if (!this.closed) this.pc.addRemoteCandidate(candidate, mid);
  }

  /** Called about once a second: end the session if nothing came from the client for the idle time. */
  checkIdle(now: number): void {
    if (this.closed || !this.connected) return;
    if (this.activity !== this.seenActivity || this.activeAt === 0) {
      this.seenActivity = this.activity;
      this.activeAt = now;
    } else if (now - this.activeAt > this.timeouts.idleMs) {
      this.close('idle');
    }
  }

  close(reason: EndReason): void {
    if (this.ended) return;
    this.ended = reason;
    this.clearTimers();
    if (this.offeredTimer) clearTimeout(this.offeredTimer);
    this.offeredTimer = null;
    this.engine.release(this.pc);
    this.emit('closed', reason);
  }

  private onState(state: string): void {
    if (this.closed) return;
    if (state === 'connected') {
      this.clearTimers();
      this.connected = true;
    } else if (state === 'disconnected') {
      this.lostTimer ??= setTimeout(() => this.close('disconnected'), this.timeouts.disconnectedMs);
    } else if (state === 'failed') {
      this.close('ice_failed');
    } else if (state === 'closed') {
      this.close('disconnected');
    }
  }

  private clearTimers(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    if (this.lostTimer) clearTimeout(this.lostTimer);
    this.connectTimer = null;
    this.lostTimer = null;
  }
}
