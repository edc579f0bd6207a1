// The viewer's SFU route: one PeerLink to our own server, negotiated over WHEP
// with the ticket from use_sfu (the ticket makes the session this viewer's, so
// it is counted once and needs no password). The server is reachable on one UDP
// port; a browser that cannot reach it (no UDP, no TURN) never connects, and
// after the ladder's direct timeout the session moves on to the server relay.
import type { IceTimeouts } from '../../protocol/messages.js';
import { Emitter } from '../emitter.js';
import { HttpSession, HttpSessionError } from '../rtc/http-session.js';
import { PeerLink } from '../rtc/peer-link.js';
import { videoRejected } from '../rtc/sdp.js';
import type { Sample } from '../rtc/stats-sampler.js';

export interface SfuRouteEvents {
  stream: MediaStream;
  state: 'connecting' | 'playing';
  /** No picture from the SFU: refused (with the server's code) or never connected. */
  failed: { code: string; message: string };
  /** The SFU carries no video this browser decodes (an H.264 stream, a browser without H.264): the sound plays alone. */
  noVideo: void;
}

export interface SfuRouteOptions {
  /** /api/whep/{room_id} on the signalling server's origin. */
  endpoint: string;
  ticket: string;
  iceServers: RTCIceServer[];
  iceTimeouts: IceTimeouts;
  jitterBufferTargetMs: number | null;
}

export class SfuRoute extends Emitter<SfuRouteEvents> {
  readonly link: PeerLink;
  private readonly http: HttpSession;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ended = false;

  constructor(private readonly options: SfuRouteOptions) {
    super();
    // The server's own candidates come in its answer; TURN helps a browser that cannot send UDP straight to it.
    this.link = new PeerLink({ iceServers: options.iceServers, direction: 'inbound', label: 'SFU connection' });
    this.http = new HttpSession(this.link, options.endpoint, options.ticket);
    this.link.on('track', (event) => {
      if (options.jitterBufferTargetMs !== null) event.receiver.jitterBufferTarget = options.jitterBufferTargetMs;
      this.emit('stream', event.streams[0] ?? new MediaStream([event.track]));
    });
    this.link.on('state', (state) => {
      if (state === 'connected') {
        this.disarm();
        this.emit('state', 'playing');
      } else if (state === 'failed') {
        this.fail('unreachable', 'the SFU could not be reached');
      }
    });
  }

  start(): void {
    this.link.pc.addTransceiver('video', { direction: 'recvonly' });
    this.link.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.emit('state', 'connecting');
    // Both rungs' time: TURN, if any, is tried inside this one connection.
    this.timer = setTimeout(() => this.fail('unreachable', 'no path to the SFU'), this.options.iceTimeouts.direct_ms + this.options.iceTimeouts.turn_ms);
    this.http.start().then((answer) => {
      if (videoRejected(answer)) this.emit('noVideo', undefined);
    }, (err: unknown) => {
      if (err instanceof HttpSessionError) this.fail(err.code, err.message);
      else this.fail('unreachable', err instanceof Error ? err.message : String(err));
    });
  }

  /** A stats sample, its path named as the SFU. */
  async sample(): Promise<Sample | null> {
    const sample = await this.link.sample();
    if (!sample) return null;
    return { ...sample, path: sample.path ? { ...sample.path, type: 'sfu' } : null };
  }

  close(): void {
    this.ended = true;
    this.disarm();
    this.http.stop();
  }

  private fail(code: string, message: string): void {
    if (this.ended) return;
    this.close();
    this.emit('failed', { code, message });
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
