// One process of bench/sfu.ts's WHEP viewers: node-datachannel players that
// count what arrives and nothing more (no buffering), so that a few hundred
// of them fit in a process. Driven by the parent over IPC:
//   {type:'open', url, count}  → players POST their offers; answers {type:'opened', count}
//   {type:'measure'}           → counting starts afresh
//   {type:'report'}            → {type:'counts', received, expected, silent, cpuShare}
//   {type:'close'}             → players close, the process exits
import { Audio, PeerConnection, RtcpReceivingSession, Video, type Track } from 'node-datachannel';

type Command = { type: 'open'; url: string; count: number } | { type: 'measure' } | { type: 'report' } | { type: 'close' };

/** Packets of one RTP stream since measuring started: how many came, and the span of sequence numbers they cover. */
class StreamCount {
  received = 0;
  private first = -1;
  private highest = -1;

  packet(seq: number): void {
    if (this.highest < 0) {
      this.first = this.highest = seq;
    } else {
      // Sequence numbers unwrapped around the highest seen; a late packet widens nothing.
      const delta = (seq - this.highest) & 0xffff;
      const ext = this.highest + (delta >= 0x8000 ? delta - 0x10000 : delta);
      if (ext > this.highest) this.highest = ext;
      if (ext < this.first) this.first = ext;
    }
    this.received++;
  }

  /** Packets the sender sent in the span seen (received + lost). */
  get expected(): number {
    return this.highest < 0 ? 0 : this.highest - this.first + 1;
  }

  reset(): void {
    this.received = 0;
    this.first = this.highest = -1;
  }
}

class CountingPlayer {
  readonly pc = new PeerConnection('bench-whep', { iceServers: [] });
  readonly video = new StreamCount();
  readonly audio = new StreamCount();
  private readonly videoTrack: Track;

  constructor() {
    const video = new Video('0', 'RecvOnly');
    video.addVP8Codec(96);
    const audio = new Audio('1', 'RecvOnly');
    audio.addOpusCodec(111);
    this.videoTrack = this.pc.addTrack(video);
    const audioTrack = this.pc.addTrack(audio);
    // Receiver reports to the server, as any player sends them.
    this.videoTrack.setMediaHandler(new RtcpReceivingSession());
    audioTrack.setMediaHandler(new RtcpReceivingSession());
    this.videoTrack.onMessage((m) => this.video.packet(m.readUInt16BE(2)));
    audioTrack.onMessage((m) => this.audio.packet(m.readUInt16BE(2)));
  }

  async open(url: string): Promise<void> {
    const offer = await new Promise<string>((resolve) => {
      this.pc.onGatheringStateChange((s) => s === 'complete' && resolve(this.pc.localDescription()!.sdp));
      this.pc.setLocalDescription();
    });
    const post = () => fetch(url, { method: 'POST', body: offer, headers: { 'Content-Type': 'application/sdp' } });
    // Once more if the connection fails: a kept-alive socket the server closes as it is reused resets.
    const res = await post().catch(post);
    if (res.status !== 201) throw new Error(`WHEP POST: ${res.status} ${await res.text()}`);
    this.pc.setRemoteDescription(await res.text(), 'answer');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('player not connected within 20 s')), 20_000);
      this.videoTrack.onOpen(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

const players: CountingPlayer[] = [];
/** When counting started: the process's CPU and the clock, so it reports its own window. */
let since = { cpu: process.cpuUsage(), at: performance.now() };

function send(message: unknown): void {
  process.send!(message);
}

process.on('message', (command: Command) => {
  void (async () => {
    if (command.type === 'open') {
      // A few at a time: the server answers each after gathering, and this process has one core at most.
      for (let i = 0; i < command.count; i += 10) {
        const batch = Array.from({ length: Math.min(10, command.count - i) }, () => new CountingPlayer());
        await Promise.all(batch.map((p) => p.open(command.url)));
        players.push(...batch);
      }
      send({ type: 'opened', count: players.length });
    } else if (command.type === 'measure') {
      for (const p of players) {
        p.video.reset();
        p.audio.reset();
      }
      since = { cpu: process.cpuUsage(), at: performance.now() };
      send({ type: 'measuring' });
    } else if (command.type === 'report') {
      const sum = (f: (p: CountingPlayer) => number) => players.reduce((n, p) => n + f(p), 0);
      send({
        type: 'counts',
        received: sum((p) => p.video.received + p.audio.received),
        expected: sum((p) => p.video.expected + p.audio.expected),
        silent: players.filter((p) => p.video.received === 0).length,
        // Its own window: a busy process reads the report request late, and the parent's window is not its.
        cpuShare: (() => {
          const cpu = process.cpuUsage(since.cpu);
          return (cpu.user + cpu.system) / 1000 / (performance.now() - since.at);
        })(),
      });
    } else {
      for (const p of players) p.pc.close();
      setTimeout(() => process.exit(0), 200);
    }
  })().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
