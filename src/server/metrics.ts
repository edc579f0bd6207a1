// The operator's numbers, served at /metrics in Prometheus text format. One
// ServerMetrics per server (its own prom-client Registry, never the global
// default), so several servers in one test process do not mix their counts.
// Other modules hold the instance and bump the counters they own: signalling
// counts messages and errors, the server relay adds to relayBytes, and whoever
// hands out TURN credentials calls countIceServers.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { IceServer } from '../protocol/messages.js';

/** What the gauges read at scrape time (kept as callbacks so nothing is double-counted). */
export interface MetricsSources {
  connections(): number;
  rooms(): number;
  /** Viewers by connection path (p2p, turn, relay, unknown) over all rooms. */
  viewersByPath(): Record<string, number>;
  draining(): boolean;
  /** Server-side WebRTC peer connections alive (SFU publishers and viewers). */
  sfuPeerConnections(): number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly messages = this.counter('liveroom_messages_total', 'Signalling messages received, by type ("invalid" for frames that did not parse)', 'type');
  readonly errors = this.counter('liveroom_errors_total', 'error answers sent to clients, by code', 'code');
  readonly refused = this.counter('liveroom_refused_connections_total', 'WebSocket upgrades refused, by reason', 'reason');
  /** Media bytes through the server relay; the relay increments it. */
  readonly relayBytes = this.counter('liveroom_relay_bytes_total', 'Media bytes forwarded by the server relay, by direction (in, out)', 'direction');
  readonly turnCredentials = this.counter('liveroom_turn_credentials_issued_total', 'TURN credentials handed out (welcome and /api/ice-servers)');
  /** What the SFU forwards; the fan-out adds once per packet from the publisher, for all its viewers. */
  readonly sfuPackets = this.counter('liveroom_sfu_forwarded_packets_total', 'RTP packets the SFU sent to viewers, by kind (audio, video)', 'kind');
  readonly sfuBytes = this.counter('liveroom_sfu_forwarded_bytes_total', 'RTP bytes the SFU sent to viewers, by kind (audio, video)', 'kind');
  readonly sfuDropped = this.counter('liveroom_sfu_dropped_packets_total', 'RTP packets not sent to a viewer, by reason (keyframe_wait, send_failed)', 'reason');
  readonly sfuKeyframeRequests = this.counter('liveroom_sfu_keyframe_requests_total', 'Keyframe requests (PLI) the SFU sent to WHIP publishers');

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry });
    this.gauge('liveroom_connections', 'Open signalling WebSocket connections', () => sources.connections());
    this.gauge('liveroom_rooms', 'Rooms, live or waiting for their broadcaster', () => sources.rooms());
    this.gauge('liveroom_draining', '1 while the server is shutting down and refuses new connections', () => (sources.draining() ? 1 : 0));
    this.gauge('liveroom_sfu_peer_connections', 'Server-side WebRTC peer connections alive (SFU publishers and viewers)', () => sources.sfuPeerConnections());
    new Gauge({
      name: 'liveroom_viewers',
      help: 'Viewers in rooms, by the connection path they report',
      labelNames: ['path'] as const,
      registers: [this.registry],
      collect() {
        for (const [path, n] of Object.entries(sources.viewersByPath())) this.set({ path }, n);
      },
    });
  }

  private counter<L extends string>(name: string, help: string, ...labelNames: L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** A gauge read at scrape time. */
  private gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** Count the TURN credentials in an ICE server list about to be handed out. */
  countIceServers(list: readonly IceServer[]): void {
    const withCredential = list.filter((s) => s.credential !== undefined).length;
    if (withCredential > 0) this.turnCredentials.inc(withCredential);
  }
}
