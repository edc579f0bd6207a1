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
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly messages = this.counter('liveroom_messages_total', 'Signalling messages received, by type ("invalid" for frames that did not parse)', 'type');
  readonly errors = this.counter('liveroom_errors_total', 'error answers sent to clients, by code', 'code');
  readonly refused = this.counter('liveroom_refused_connections_total', 'WebSocket upgrades refused, by reason', 'reason');
  /** Media bytes through the server relay; the relay increments it. */
  readonly relayBytes = this.counter('liveroom_relay_bytes_total', 'Media bytes forwarded by the server relay, by direction (in, out)', 'direction');
  readonly turnCredentials = this.counter('liveroom_turn_credentials_issued_total', 'TURN credentials handed out (welcome and /api/ice-servers)');

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry });
    this.gauge('liveroom_connections', 'Open signalling WebSocket connections', () => sources.connections());
    this.gauge('liveroom_rooms', 'Rooms, live or waiting for their broadcaster', () => sources.rooms());
    this.gauge('liveroom_draining', '1 while the server is shutting down and refuses new connections', () => (sources.draining() ? 1 : 0));
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
