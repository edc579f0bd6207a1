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
  readonly messages = new Counter({
    name: 'liveroom_messages_total',
    help: 'Signalling messages received, by type ("invalid" for frames that did not parse)',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'liveroom_errors_total',
    help: 'error answers sent to clients, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'liveroom_refused_connections_total',
    help: 'WebSocket upgrades refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /** Media bytes through the server relay; the relay increments it. */
  readonly relayBytes = new Counter({
    name: 'liveroom_relay_bytes_total',
    help: 'Media bytes forwarded by the server relay, by direction (in, out)',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly turnCredentials = new Counter({
    name: 'liveroom_turn_credentials_issued_total',
    help: 'TURN credentials handed out (welcome and /api/ice-servers)',
    registers: [this.registry],
  });

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'liveroom_connections',
      help: 'Open signalling WebSocket connections',
      registers: [this.registry],
      collect() {
        this.set(sources.connections());
      },
    });
    new Gauge({
      name: 'liveroom_rooms',
      help: 'Rooms, live or waiting for their broadcaster',
      registers: [this.registry],
      collect() {
        this.set(sources.rooms());
      },
    });
    new Gauge({
      name: 'liveroom_viewers',
      help: 'Viewers in rooms, by the connection path they report',
      labelNames: ['path'] as const,
      registers: [this.registry],
      collect() {
        for (const [path, n] of Object.entries(sources.viewersByPath())) this.set({ path }, n);
      },
    });
    new Gauge({
      name: 'liveroom_draining',
      help: '1 while the server is shutting down and refuses new connections',
      registers: [this.registry],
      collect() {
        this.set(sources.draining() ? 1 : 0);
      },
    });
  }

  /** Count the TURN credentials in an ICE server list about to be handed out. */
  countIceServers(list: readonly IceServer[]): void {
    const withCredential = list.filter((s) => s.credential !== undefined).length;
    if (withCredential > 0) this.turnCredentials.inc(withCredential);
  }
}
