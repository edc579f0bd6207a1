// An RTCPeerConnection stand-in for unit tests of PeerLink: it keeps the
// signalling state machine of the spec (offers in 'stable' or
// 'have-local-offer', answers only to an offer, candidates only after a remote
// description), resolves every step on a later tick as a browser does, and
// records what was done to it, in order.
type Description = { type: RTCSdpType; sdp: string };

let sessions = 1000;

export class FakePeerConnection {
  signalingState: RTCSignalingState = 'stable';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: Description | null = null;
  remoteDescription: Description | null = null;
  onicecandidate: ((e: { candidate: RTCIceCandidate | null }) => void) | null = null;
  ontrack: ((e: unknown) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  /** What happened, in order: 'createOffer', 'createOffer restart', 'setLocal offer', 'setRemote answer', 'addIce c1'… */
  readonly log: string[] = [];
  private config: RTCConfiguration;
  private readonly session = String(sessions++);
  private version = 0;
  /** Candidates to refuse (addIceCandidate rejects). */
  readonly refuse = new Set<string>();

  constructor(config: RTCConfiguration) {
    this.config = { ...config };
  }

  getConfiguration(): RTCConfiguration {
    return { ...this.config };
  }

  setConfiguration(config: RTCConfiguration): void {
    this.config = { ...config };
    this.log.push(`policy ${config.iceTransportPolicy ?? 'all'}`);
  }

  async createOffer(options: RTCOfferOptions = {}): Promise<Description> {
    await tick();
    this.log.push(options.iceRestart ? 'createOffer restart' : 'createOffer');
    return { type: 'offer', sdp: this.sdp(options.iceRestart ? 'restart' : 'offer') };
  }

  async createAnswer(): Promise<Description> {
    await tick();
    if (this.signalingState !== 'have-remote-offer') throw new Error(`InvalidStateError: createAnswer in ${this.signalingState}`);
    this.log.push('createAnswer');
    return { type: 'answer', sdp: this.sdp('answer') };
  }

  async setLocalDescription(d: Description): Promise<void> {
    await tick();
    this.check(d.type, 'local');
    this.localDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-local-offer' : 'stable';
    this.log.push(`setLocal ${d.type}`);
  }

  async setRemoteDescription(d: Description): Promise<void> {
    await tick();
    this.check(d.type, 'remote');
    this.remoteDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
    this.log.push(`setRemote ${d.type}`);
  }

  async addIceCandidate(c: RTCIceCandidateInit): Promise<void> {
    await tick();
    if (!this.remoteDescription) throw new Error('InvalidStateError: no remote description');
    if (this.refuse.has(c.candidate ?? '')) throw new Error(`OperationError: ${c.candidate}`);
    this.log.push(`addIce ${c.candidate}`);
  }

  getTransceivers(): RTCRtpTransceiver[] {
    return [];
  }

  async getStats(): Promise<Map<string, unknown>> {
    return new Map();
  }

  getReceivers(): RTCRtpReceiver[] {
    return [];
  }

  close(): void {
    this.signalingState = 'closed';
    this.connectionState = 'closed';
    this.log.push('close');
  }

  /** The browser surfaces a gathered candidate (it is then part of the local description). */
  gather(candidate: string): void {
    if (this.localDescription) this.localDescription = { ...this.localDescription, sdp: `${this.localDescription.sdp}a=candidate:${candidate}\r\n` };
    this.onicecandidate?.({ candidate: { candidate, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null } as RTCIceCandidate });
  }

  private check(type: RTCSdpType, side: 'local' | 'remote'): void {
    const s = this.signalingState;
    const ok =
      type === 'offer'
        ? s === 'stable' || s === (side === 'local' ? 'have-local-offer' : 'have-remote-offer')
        : s === (side === 'local' ? 'have-remote-offer' : 'have-local-offer');
    if (!ok) throw new Error(`InvalidStateError: set${side === 'local' ? 'Local' : 'Remote'} ${type} in ${s}`);
  }

  private sdp(kind: string): string {
    return `v=0\r\no=- ${this.session} ${++this.version} IN IP4 127.0.0.1\r\ns=${kind}\r\n`;
  }
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
