// The viewer's peer-to-peer route: its link to the broadcaster and the
// connection ladder that climbs from direct paths to TURN only. It is made at
// room_joined, before the offer, so the offer is answered the moment it lands;
// its ladder starts with that first offer. When the ladder runs out it says
// `relayNeeded` and the session moves to the server relay.
import type { ClientMessage, IceTimeouts, VideoCodec } from '../../protocol/messages.js';
import { Emitter } from '../emitter.js';
import { negotiateCaptureTime } from '../rtc/capture-time.js';
import { offeredCodecs, orderCodecs } from '../rtc/codecs.js';
import { PeerLink } from '../rtc/peer-link.js';
import { sdpSessionId, videoRejected } from '../rtc/sdp.js';
import { signalMessage } from '../signalling/peer-signal.js';
import { ConnectionLadder, hasTurnServer, type ClimbReason, type Rung, type RungRecord } from './connection-ladder.js';

export interface LadderStatus {
  rung: Rung;
  connected: boolean;
  /** Why the viewer climbed, for the latest climb. */
  reason?: ClimbReason;
  history: RungRecord[];
}

export interface PeerRouteEvents {
  stream: MediaStream;
  /** Media flows ('playing'), or a rung is being tried ('connecting'). */
  state: 'connecting' | 'playing';
  ladder: LadderStatus;
  /** Direct and TURN paths failed: the server relay is the last rung. */
  relayNeeded: RungRecord[];
  /** The broadcaster offered nothing this browser decodes. */
  noCommonCodec: void;
}

export interface PeerRouteOptions {
  iceServers: RTCIceServer[];
  iceTimeouts: IceTimeouts;
  send(message: ClientMessage): void;
  /** Start on the TURN rung: relay candidates only, so the broadcaster never learns this viewer's address. */
  forceTurn: boolean;
  /** Decode only these video codecs (`?codecs=`). */
  codecs: VideoCodec[] | null;
  /** RTCRtpReceiver.jitterBufferTarget of every received track, ms; null leaves the browser's. */
  jitterBufferTargetMs: number | null;
}

/** How long a connection that worked may stay 'disconnected' before the viewer asks for an ICE restart. */
const BLIP_RESTART_MS = 2_000;

export class PeerRoute extends Emitter<PeerRouteEvents> {
  readonly link: PeerLink;
  private readonly ladder: ConnectionLadder;
  /** False until the first offer: the ladder's timers start then, not at room_joined (the broadcaster may be away). */
  private offered = false;
  private remoteSession: string | null = null;
  private playing = false;
  private blip: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private broadcasterId: string,
    private readonly options: PeerRouteOptions,
  ) {
    super();
    // No iceCandidatePoolSize: with a pooled set, an answer made within ~40 ms of
    // the connection (the broadcaster's spare offer lands that fast) sometimes
    // never surfaced a candidate in Chromium 150, and the join waited 5 s for the
    // ladder (4 of 594 joins; none of 200 without the pool, which was no slower:
    // docs/BENCHMARKS.md).
    this.link = new PeerLink({ iceServers: options.iceServers, turnOnly: options.forceTurn, direction: 'inbound', label: 'viewer connection' });
    this.ladder = new ConnectionLadder(options.iceTimeouts, hasTurnServer(options.iceServers));
    this.ladder.on('connected', ({ rung, history }) => this.emit('ladder', { rung, connected: true, history }));
    this.ladder.on('climb', ({ to, reason, history }) => {
      this.emit('ladder', { rung: to, connected: false, reason, history });
      if (to === 'turn') this.restartOverTurn();
      else this.emit('relayNeeded', history);
    });
    this.link.on('signal', (s) => options.send(signalMessage(s, this.broadcasterId)));
    this.link.on('track', (event) => {
      if (options.jitterBufferTargetMs !== null) event.receiver.jitterBufferTarget = options.jitterBufferTargetMs;
      this.emit('stream', event.streams[0] ?? new MediaStream([event.track]));
    });
    this.link.on('state', (state) => this.onState(state));
  }

  /** Whether an offer is for this connection: its first, or another from the same RTCPeerConnection (a renegotiation). */
  takes(sdp: string): boolean {
    return !this.offered || sdpSessionId(sdp) === this.remoteSession;
  }

  /** Answer the broadcaster's offer; the first one starts the ladder. */
  offer(from: string, sdp: string): void {
    this.broadcasterId = from;
    this.remoteSession = sdpSessionId(sdp);
    if (!this.offered) this.startLadder();
    void this.link
      .acceptOffer(sdp, (pc) => {
        for (const t of pc.getTransceivers()) {
          if (t.receiver.track.kind !== 'video') continue;
          this.restrictCodecs(t, sdp);
          negotiateCaptureTime(t);
        }
      })
      .then((answer) => {
        // Firefox turns video down without a word when it decodes none of the
        // offered codecs (H.264 alone: no OpenH264 plugin): say so, not a black picture.
        if (answer && videoRejected(answer)) this.emit('noCommonCodec', undefined);
      });
  }

  candidate(from: string, candidate: RTCIceCandidateInit): void {
    if (from === this.broadcasterId) this.link.addRemoteCandidate(candidate);
  }

  /** The broadcaster's connection is going away: that says nothing about the network, so the ladder stops. */
  pause(): void {
    this.ladder.stop();
  }

  close(): void {
    this.ladder.stop();
    if (this.blip) clearTimeout(this.blip);
    this.link.close();
  }

  private startLadder(): void {
    this.offered = true;
    this.emit('state', 'connecting');
    this.ladder.start(this.options.forceTurn ? 'turn' : 'direct');
    // Without a TURN server, ?via=turn has already climbed to the relay (and said so).
    if (this.ladder.rung !== 'relay') this.emit('ladder', { rung: this.ladder.rung, connected: false, history: this.ladder.history });
  }

  /**
   * Second rung: gather TURN candidates only, and ask the broadcaster (the
   * offerer) for an ICE restart with the same policy; its new offer renegotiates
   * this same connection.
   */
  private restartOverTurn(): void {
    this.link.setTurnOnly(true);
    this.emit('state', 'connecting');
    this.options.send({ type: 'ice_restart', target_id: this.broadcasterId, ice_transport_policy: 'relay' });
  }

  private onState(state: RTCPeerConnectionState): void {
    if (this.blip) clearTimeout(this.blip);
    this.blip = null;
    if (state === 'connected') {
      this.playing = true;
      this.ladder.onConnected();
      this.emit('state', 'playing');
    } else if (state === 'failed') {
      this.playing = false;
      this.ladder.onFailed();
    } else if (state === 'disconnected' && this.playing) {
      // A network blip on a path that worked: if ICE has not found its way
      // back by itself within BLIP_RESTART_MS, ask for an ICE restart on the
      // same connection (same policy) before anything more drastic.
      this.blip = setTimeout(() => {
        if (this.link.state !== 'disconnected') return;
        this.options.send({ type: 'ice_restart', target_id: this.broadcasterId, ice_transport_policy: this.link.turnOnly ? 'relay' : 'all' });
      }, BLIP_RESTART_MS);
    }
  }

  /**
   * With `codecs` set, the answer accepts only those, led by the first of them
   * the broadcaster offered (the broadcaster chose it; the answer must not overrule).
   */
  private restrictCodecs(transceiver: RTCRtpTransceiver, offer: string): void {
    const only = this.options.codecs;
    if (!only) return;
    const first = offeredCodecs(offer).find((c) => only.includes(c)) ?? null;
    orderCodecs(transceiver, RTCRtpReceiver.getCapabilities?.('video')?.codecs, first, only);
  }
}
