// The SFU's hold on libdatachannel: one UDP port for every server-side peer
// connection (ICE UDP mux: a single socket, demultiplexed by ICE username),
// the peer connections that are alive (the /metrics gauge counts them), and
// shutdown. Everything that creates a PeerConnection goes through here.
import { createSocket } from 'node:dgram';
import { IceUdpMuxListener, PeerConnection, type RtcConfig } from 'node-datachannel';
import type { Logger } from 'pino';

export interface SfuNetwork {
  /** UDP_PORT; 0 lets the OS choose (tests). */
  udpPort: number;
  /** ANNOUNCED_IP: the address put in host candidates for a server behind NAT. */
  announcedIp?: string;
  /** STUN servers for a server-reflexive candidate (none needed on a public address). */
  stunUrls: readonly string[];
}

/** A port nobody holds right now, for UDP_PORT=0 (the mux listener needs a number up front). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: 'udp6', ipv6Only: false });
    socket.once('error', reject);
    socket.bind(0, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** "stun:host:port" → the host:port form libdatachannel takes. */
function stunServer(url: string): string | null {
  const m = /^stuns?:([^?]+)/.exec(url);
  return m ? `stun:${m[1]}` : null;
}

export class SfuEngine {
  private listener: IceUdpMuxListener | null = null;
  private readonly peers = new Set<PeerConnection>();
  private portNumber = 0;

  constructor(
    private readonly network: SfuNetwork,
    private readonly log: Logger,
  ) {}

  /** The UDP port all media uses (after start()). */
  get port(): number {
    return this.portNumber;
  }

  /** Live server-side peer connections (publishers and viewers). */
  get peerConnections(): number {
    return this.peers.size;
  }

  get announcedIp(): string | undefined {
    return this.network.announcedIp;
  }

  /**
   * Bind the media port. The listener holds the mux socket for the server's
   * lifetime, so a port in use stops the server at start, and every peer
   * connection, whenever made, shares this one socket.
   */
  async start(): Promise<void> {
    const port = this.network.udpPort || (await freeUdpPort());
    try {
      this.listener = new IceUdpMuxListener(port);
    } catch (err) {
      throw new Error(`UDP_PORT ${port}: cannot bind the SFU's media port (${err instanceof Error ? err.message : String(err)}); is it in use?`, { cause: err });
    }
    this.portNumber = port;
    this.log.info({ udpPort: port, announcedIp: this.network.announcedIp }, 'sfu media port bound');
  }

  /** A peer connection on the shared port; it counts until release(). */
  create(label: string): PeerConnection {
    if (!this.listener) throw new Error('the SFU engine is not started');
    const config: RtcConfig = {
      iceServers: this.network.stunUrls.map(stunServer).filter((s): s is string => s !== null),
      enableIceUdpMux: true,
      portRangeBegin: this.portNumber,
      portRangeEnd: this.portNumber,
    };
    const pc = new PeerConnection(label, config);
    this.peers.add(pc);
    return pc;
  }

  /**
   * Close a peer connection once. libdatachannel throws from any method of a
   * closed connection or track (an uncaught throw ends the process), so every
   * close goes through here and callers stop touching it after.
   */
  release(pc: PeerConnection): void {
    if (!this.peers.delete(pc)) return;
    try {
      pc.close();
    } catch (err) {
      this.log.warn({ err }, 'closing a peer connection failed');
    }
  }

  /** Shutdown: every peer connection and the port. */
  close(): void {
    for (const pc of [...this.peers]) this.release(pc);
    this.listener?.stop();
    this.listener = null;
  }
}
