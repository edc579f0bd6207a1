// WHIP publishers and WHEP players for tests and benches, written with
// node-datachannel: they stand in for standard clients (OBS is libdatachannel
// too) and speak only HTTP and RTP to the server. The publisher sends real
// RTP: VP8 frames packetized here (RFC 7741 payload descriptor, a P bit that
// marks keyframes) and Opus-sized audio packets, so a player can check what
// arrives against what was sent.
import { Audio, PeerConnection, RtcpReceivingSession, RtcpSrReporter, RtpPacketizationConfig, Video, type Track } from 'node-datachannel';
import { isRtcp, readRtpHeader, type RtpHeader } from '../../src/server/sfu/rtp.js';

/** An offer (or answer) with every candidate, as OBS sends it. */
function gathered(pc: PeerConnection): Promise<string> {
  return new Promise((resolve) => {
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') resolve(pc.localDescription()!.sdp);
    });
    pc.setLocalDescription();
  });
}

function opened(track: Track, what: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (track.isOpen()) return resolve();
    const timer = setTimeout(() => reject(new Error(`${what}: track not open within ${timeoutMs} ms`)), timeoutMs);
    track.onOpen(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface Posted {
  status: number;
  headers: Headers;
  body: string;
}

export async function postOffer(url: string, sdp: string, token?: string, contentType = 'application/sdp'): Promise<Posted> {
  const res = await fetch(url, { method: 'POST', body: sdp, headers: { 'Content-Type': contentType, ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}) } });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

const MTU_PAYLOAD = 1_100;

/** A WHIP publisher: VP8 video (PT 96) and Opus audio (PT 111), each with its own SSRC. */
export class TestPublisher {
  readonly pc = new PeerConnection('test-whip', { iceServers: [] });
  readonly video: Track;
  readonly audio: Track;
  readonly videoSsrc = 0x1000_0000 + Math.floor(Math.random() * 0x0fff_ffff);
  readonly audioSsrc = 0x2000_0000 + Math.floor(Math.random() * 0x0fff_ffff);
  private seq = Math.floor(Math.random() * 65536);
  private audioSeq = Math.floor(Math.random() * 65536);
  private timestamp = Math.floor(Math.random() * 2 ** 32);
  private audioTimestamp = 0;
  private pictureId = 0;
  /** Keyframe requests (PLI) the server sent. */
  keyframeRequests = 0;
  /** REMB bitrates the server sent. */
  readonly remb: number[] = [];
  answer = '';
  location = '';
  private audioTimer: ReturnType<typeof setInterval> | null = null;

  constructor() {
    const video = new Video('0', 'SendOnly');
    video.addVP8Codec(96);
    video.addSSRC(this.videoSsrc, 'test-cname', 'test-stream', 'test-video');
    const audio = new Audio('1', 'SendOnly');
    audio.addOpusCodec(111);
    audio.addSSRC(this.audioSsrc, 'test-cname', 'test-stream', 'test-audio');
    this.video = this.pc.addTrack(video);
    this.audio = this.pc.addTrack(audio);
    // Sender reports, as every WebRTC sender sends them: the server answers each with a receiver report and REMB.
    this.video.setMediaHandler(new RtcpSrReporter(new RtpPacketizationConfig(this.videoSsrc, 'test-cname', 96, 90000)));
    this.audio.setMediaHandler(new RtcpSrReporter(new RtpPacketizationConfig(this.audioSsrc, 'test-cname', 111, 48000)));
    this.video.onMessage((rtcp) => this.feedback(rtcp));
  }

  offer(): Promise<string> {
    return gathered(this.pc);
  }

  /** POST the offer; on 201 take the answer and wait for the path to open. */
  async publish(url: string, token: string): Promise<Posted> {
    const posted = await postOffer(url, await this.offer(), token);
    if (posted.status !== 201) return posted;
    this.answer = posted.body;
    this.location = posted.headers.get('location') ?? '';
    this.pc.setRemoteDescription(posted.body, 'answer');
    await opened(this.video, 'publisher video');
    return posted;
  }

  /**
   * One VP8 frame of `size` bytes whose payload bytes are all `fill`, packetized; returns its packets.
   * `picture` writes a real key frame header (start code and size) so a depacketizer takes it.
   */
  sendFrame(keyframe: boolean, size = 3_000, fill = 0x42, picture?: { width: number; height: number }): Buffer[] {
    this.timestamp = (this.timestamp + 3000) >>> 0;
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    const packets: Buffer[] = [];
    for (let offset = 0; offset < size; offset += MTU_PAYLOAD) {
      const chunk = Math.min(MTU_PAYLOAD, size - offset);
      const first = offset === 0;
      const last = offset + chunk >= size;
      // RTP header (12) + VP8 descriptor: X=1, S on the first packet, PID 0; I=1 with a 15-bit PictureID.
      const p = Buffer.alloc(12 + 4 + chunk, fill);
      p[0] = 0x80;
      p[1] = (last ? 0x80 : 0) | 96;
      p.writeUInt16BE(this.seq, 2);
      this.seq = (this.seq + 1) & 0xffff;
      p.writeUInt32BE(this.timestamp, 4);
      p.writeUInt32BE(this.videoSsrc, 8);
      p[12] = 0x80 | (first ? 0x10 : 0);
      p[13] = 0x80;
      p.writeUInt16BE(0x8000 | this.pictureId, 14);
      // The VP8 payload header's first byte: bit 0 (P) is 0 on a keyframe.
      if (first) p[16] = keyframe ? (fill & 0xfe) : fill | 0x01;
      if (first && keyframe && picture) {
        p.set([0x9d, 0x01, 0x2a], 19);
        p.writeUInt16LE(picture.width, 22);
        p.writeUInt16LE(picture.height, 24);
      }
      packets.push(p);
      this.video.sendMessageBinary(p);
    }
    return packets;
  }

  /** One 20 ms Opus-sized audio packet. */
  sendAudio(size = 80): Buffer {
    this.audioTimestamp = (this.audioTimestamp + 960) >>> 0;
    const p = Buffer.alloc(12 + size, 0x17);
    p[0] = 0x80;
    p[1] = 111;
    p.writeUInt16BE(this.audioSeq, 2);
    this.audioSeq = (this.audioSeq + 1) & 0xffff;
    p.writeUInt32BE(this.audioTimestamp, 4);
    p.writeUInt32BE(this.audioSsrc, 8);
    this.audio.sendMessageBinary(p);
    return p;
  }

  /** Audio every 20 ms until close(), as a live publisher sends it (so the session is never idle). */
  startAudio(): void {
    this.audioTimer ??= setInterval(() => {
      if (this.audio.isOpen()) this.sendAudio();
    }, 20);
  }

  close(): void {
    if (this.audioTimer) clearInterval(this.audioTimer);
    this.audioTimer = null;
    this.pc.close();
  }

  private feedback(rtcp: Buffer): void {
    for (let i = 0; i + 8 <= rtcp.length; ) {
      const type = rtcp[i + 1]!;
      const fmt = rtcp[i]! & 0x1f;
      if (type === 206 && fmt === 1) this.keyframeRequests++;
      if (type === 206 && fmt === 15 && rtcp.toString('latin1', i + 12, i + 16) === 'REMB') {
        const exp = rtcp[i + 17]! >> 2;
        const mantissa = ((rtcp[i + 17]! & 3) << 16) | (rtcp[i + 18]! << 8) | rtcp[i + 19]!;
        this.remb.push(mantissa * 2 ** exp);
      }
      i += (rtcp.readUInt16BE(i + 2) + 1) * 4;
    }
  }
}

export interface Received {
  header: RtpHeader;
  packet: Buffer;
}

/** A WHEP player: recvonly video (VP8 and H.264 offered) and audio (Opus). */
export class TestPlayer {
  readonly pc = new PeerConnection('test-whep', { iceServers: [] });
  readonly video: Track;
  readonly audio: Track;
  readonly videoPackets: Received[] = [];
  readonly audioPackets: Received[] = [];
  answer = '';
  location = '';
  private waiters: (() => void)[] = [];

  constructor(options: { videoPayloadType?: number; h264Only?: boolean } = {}) {
    const video = new Video('0', 'RecvOnly');
    if (options.h264Only) video.addH264Codec(102);
    else video.addVP8Codec(options.videoPayloadType ?? 100);
    const audio = new Audio('1', 'RecvOnly');
    audio.addOpusCodec(109);
    this.video = this.pc.addTrack(video);
    this.audio = this.pc.addTrack(audio);
    // Receiver reports back to the server, and PLI on request; RTCP stays out of onMessage.
    this.video.setMediaHandler(new RtcpReceivingSession());
    this.audio.setMediaHandler(new RtcpReceivingSession());
    this.video.onMessage((m) => this.take(m, this.videoPackets));
    this.audio.onMessage((m) => this.take(m, this.audioPackets));
  }

  offer(): Promise<string> {
    return gathered(this.pc);
  }

  async view(url: string, credential?: string): Promise<Posted> {
    const posted = await postOffer(url, await this.offer(), credential);
    if (posted.status !== 201) return posted;
    this.answer = posted.body;
    this.location = posted.headers.get('location') ?? '';
    this.pc.setRemoteDescription(posted.body, 'answer');
    await opened(this.video, 'player video');
    return posted;
  }

  /** Resolves once `count` video packets have arrived in all. */
  async videoCount(count: number, timeoutMs = 5_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.videoPackets.length < count) {
      if (Date.now() > deadline) throw new Error(`player: ${this.videoPackets.length} of ${count} video packets within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.videoPackets.slice(0, count);
  }

  /** Ask the server for a keyframe, as a player that lost the picture does. */
  sendPli(): void {
    this.video.requestKeyframe();
  }

  close(): void {
    this.pc.close();
  }

  private take(message: Buffer, into: Received[]): void {
    if (isRtcp(message)) return;
    const header = readRtpHeader(message);
    if (!header) return;
    into.push({ header, packet: message });
    for (const w of this.waiters.splice(0)) w();
  }
}

/** A gauge or counter of the server's /metrics (0 when absent). */
export async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}
