// The broadcaster's stream to the server's SFU: one WHIP session, started with
// the first viewer the topology sends there, which then serves any number of
// viewers for one upload. Its codec is the best one this browser sends and the
// first SFU viewer decodes, and only that codec is offered (the SFU forwards
// one stream to all); a later viewer that cannot decode it is served peer to
// peer instead.
import type { ClientMessage, VideoCodec } from '../../protocol/messages.js';
import { HttpSession } from '../rtc/http-session.js';
import { orderCodecs } from '../rtc/codecs.js';
import { PeerLink } from '../rtc/peer-link.js';
import type { Sample } from '../rtc/stats-sampler.js';
import type { TrackKind } from './capture.js';
import type { CodecPolicy } from './codec-policy.js';
import { PRESETS, type Quality } from './media.js';

export interface SfuFeedContext {
  /** /api/whip/{room_id} and the room token. */
  endpoint(): string;
  token(): string;
  iceServers(): RTCIceServer[];
  readonly codecs: CodecPolicy;
  send(message: ClientMessage): void;
  /** The WHIP session could not start (the SFU is unreachable or refused): these viewers need another way. */
  unavailable(viewers: string[], message: string): void;
}

type State = 'idle' | 'starting' | 'live' | 'failed';

export class SfuFeed {
  readonly viewers = new Set<string>();
  private state: State = 'idle';
  private session: HttpSession | null = null;
  private link: PeerLink | null = null;
  private codec: VideoCodec | null = null;
  /** Viewers assigned before the SFU had the stream: told once it does. */
  private readonly waiting = new Set<string>();

  constructor(private readonly ctx: SfuFeedContext) {}

  /** Whether the SFU can serve this viewer: not once it failed, and only in the codec it carries. */
  accepts(receivable: readonly VideoCodec[] | undefined): boolean {
    if (this.state === 'failed') return false;
    return this.codec === null || !receivable || receivable.includes(this.codec);
  }

  /** Serve a viewer through the SFU, starting the WHIP session with the first one. */
  serve(viewerId: string, receivable: VideoCodec[] | undefined, stream: MediaStream, quality: Quality): void {
    this.viewers.add(viewerId);
    if (this.state === 'live') return this.assign(viewerId);
    this.waiting.add(viewerId);
    if (this.state === 'idle') this.start(receivable, stream, quality);
  }

  remove(viewerId: string): void {
    this.viewers.delete(viewerId);
    this.waiting.delete(viewerId);
  }

  async replaceTrack(kind: TrackKind, track: MediaStreamTrack | null): Promise<void> {
    await this.link?.sender(kind)?.replaceTrack(track);
  }

  async setQuality(quality: Quality): Promise<void> {
    const sender = this.link?.sender('video');
    const params = sender?.getParameters();
    if (!sender || !params?.encodings?.length) return;
    for (const e of params.encodings) e.maxBitrate = PRESETS[quality].maxBitrate;
    await sender.setParameters(params);
  }

  /** What the upload to the SFU looks like now (null while there is none). */
  async sample(): Promise<Sample | null> {
    return this.state === 'live' && this.link ? this.link.sample() : null;
  }

  stop(): void {
    this.session?.stop();
    this.session = null;
    this.link = null;
    this.viewers.clear();
    this.waiting.clear();
    this.state = 'idle';
  }

  private start(receivable: VideoCodec[] | undefined, stream: MediaStream, quality: Quality): void {
    this.state = 'starting';
    const link = new PeerLink({ iceServers: this.ctx.iceServers(), direction: 'outbound', label: 'SFU feed' });
    link.pc.addTransceiver(stream.getAudioTracks()[0] ?? 'audio', { direction: 'sendonly', streams: [stream] });
    const video = link.pc.addTransceiver(stream.getVideoTracks()[0] ?? 'video', {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: [{ maxBitrate: PRESETS[quality].maxBitrate }],
    });
    this.codec = this.ctx.codecs.codecFor(receivable);
    if (this.codec) orderCodecs(video, RTCRtpSender.getCapabilities?.('video')?.codecs, this.codec, [this.codec]);
    this.link = link;
    this.session = new HttpSession(link, this.ctx.endpoint(), this.ctx.token());
    this.session.start().then(
      () => {
        if (this.link !== link) return;
        this.state = 'live';
        for (const id of this.waiting) this.assign(id);
      },
      (err: unknown) => {
        if (this.link !== link) return;
        this.session?.stop();
        this.state = 'failed';
        const stranded = [...this.waiting];
        this.viewers.clear();
        this.waiting.clear();
        this.ctx.unavailable(stranded, err instanceof Error ? err.message : String(err));
      },
    );
  }

  private assign(viewerId: string): void {
    this.waiting.delete(viewerId);
    this.ctx.send({ type: 'assign_sfu', viewer_id: viewerId });
  }
}
