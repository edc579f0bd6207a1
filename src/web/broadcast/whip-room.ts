// A room fed by streaming software (OBS Studio, or any WHIP client) instead of
// this browser's camera. The page opens the room and hands out its WHIP URL and
// token; the software publishes to the server's SFU; every viewer watches
// through it. While the page is open it is the room's broadcaster: it sends
// each viewer to the SFU (assign_sfu) and previews the stream over WHEP with the
// room's token (the owner's preview, counted as no viewer). The room lives on
// while the WHIP session does, even with the page closed.
import type { StatsSummary } from '../../protocol/messages.js';
import { Emitter } from '../emitter.js';
import { HttpSession } from '../rtc/http-session.js';
import { PeerLink } from '../rtc/peer-link.js';
import type { Sample } from '../rtc/stats-sampler.js';
import type { SignallingClient } from '../signalling/client.js';
import type { BroadcastEndReason, RoomCredentials } from './session.js';

export interface WhipRoomEvents {
  live: RoomCredentials;
  /** The software's stream reached the server (true) or stopped (false). */
  feed: boolean;
  /** The stream as viewers get it. */
  preview: MediaStream;
  /** The preview's figures (what the SFU forwards). */
  stats: Sample;
  summary: StatsSummary;
  connection: 'online' | 'reconnecting';
  ended: { reason: BroadcastEndReason };
}

export interface WhipRoomOptions {
  resume?: RoomCredentials;
  password?: string;
  private?: boolean;
  statsIntervalMs?: number;
}

export class WhipRoom extends Emitter<WhipRoomEvents> {
  room: RoomCredentials | null = null;
  private feedLive = false;
  /** Viewers that joined before the stream did: sent to the SFU once it has it. */
  private readonly waiting = new Set<string>();
  private preview: HttpSession | null = null;
  private previewLink: PeerLink | null = null;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: (() => void) | null = null;
  private ended = false;

  constructor(
    private readonly signalling: SignallingClient,
    private readonly options: WhipRoomOptions = {},
  ) {
    super();
  }

  /** The absolute WHIP URL to give the software (its "Server"). */
  get whipUrl(): string {
    return this.signalling.httpEndpoint(`/api/whip/${this.room?.roomId ?? ''}`);
  }

  async open(): Promise<RoomCredentials> {
    this.unsubscribe = this.signalling.onEach({
      // A standard WHEP player already watches through the SFU; a LiveRoom viewer is sent there.
      viewer_joined: (m) => {
        if (m.sfu) return;
        if (this.feedLive) this.signalling.send({ type: 'assign_sfu', viewer_id: m.viewer_id });
        else this.waiting.add(m.viewer_id);
      },
      viewer_left: (m) => this.waiting.delete(m.viewer_id),
      sfu_feed: (m) => this.onFeed(m.live),
      stats_summary: (m) => this.emit('summary', m),
      room_closed: (m) => this.finish(m.reason),
      connected: ({ reconnect }) => {
        if (!reconnect || !this.room) return;
        this.waiting.clear();
        this.onFeed(false);
        this.signalling.send({ type: 'create_room', room_id: this.room.roomId, room_token: this.room.token, ...this.roomOptions() });
        this.emit('connection', 'online');
      },
      disconnected: () => this.emit('connection', 'reconnecting'),
    });
    if (!this.signalling.connected) await this.signalling.connect();
    const resume = this.options.resume;
    const created = await this.signalling.request(
      resume ? { type: 'create_room', room_id: resume.roomId, room_token: resume.token, ...this.roomOptions() } : { type: 'create_room', ...this.roomOptions() },
      'room_created',
    );
    this.room = { roomId: created.room_id, token: created.room_token };
    this.statsTimer = setInterval(() => void this.sampleStats(), this.options.statsIntervalMs ?? 1000);
    this.emit('live', this.room);
    return this.room;
  }

  /** End the room for everyone (the software's session ends with it). */
  end(): void {
    if (this.room) this.signalling.send({ type: 'end_room' });
    this.finish('ended');
  }

  private roomOptions(): { password?: string; private?: boolean } {
    return {
      ...(this.options.password ? { password: this.options.password } : {}),
      ...(this.options.private ? { private: true } : {}),
    };
  }

  private onFeed(live: boolean): void {
    if (live === this.feedLive) return;
    this.feedLive = live;
    this.emit('feed', live);
    this.stopPreview();
    if (!live) return;
    for (const id of this.waiting) this.signalling.send({ type: 'assign_sfu', viewer_id: id });
    this.waiting.clear();
    this.startPreview();
  }

  private startPreview(): void {
    if (!this.room) return;
    const link = new PeerLink({ iceServers: this.signalling.iceServers, direction: 'inbound', label: 'OBS preview' });
    link.pc.addTransceiver('video', { direction: 'recvonly' });
    link.pc.addTransceiver('audio', { direction: 'recvonly' });
    link.on('track', (event) => this.emit('preview', event.streams[0] ?? new MediaStream([event.track])));
    this.previewLink = link;
    this.preview = new HttpSession(link, this.signalling.httpEndpoint(`/api/whep/${this.room.roomId}`), this.room.token);
    this.preview.start().catch((err: unknown) => console.warn('OBS preview:', err));
  }

  private stopPreview(): void {
    this.preview?.stop();
    this.preview = null;
    this.previewLink = null;
  }

  /** The preview's figures, and the stream's bitrate for the room's summary (viewers see it). */
  private async sampleStats(): Promise<void> {
    const sample = await this.previewLink?.sample();
    if (!sample) return;
    this.emit('stats', sample);
    this.signalling.send({ type: 'stats_report', bitrate: sample.bitrate, fps: sample.fps, width: sample.width, height: sample.height, codec: sample.codec });
  }

  private finish(reason: BroadcastEndReason): void {
    if (this.ended) return;
    this.ended = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.unsubscribe?.();
    this.stopPreview();
    this.room = null;
    this.emit('ended', { reason });
  }
}
