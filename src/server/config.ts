// One configuration surface: defaults < environment < command-line flags.
// Every value is checked here, so a bad one stops the server at start with a
// message that names it, instead of failing later in a request.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ICE_TIMEOUT_DEFAULTS } from '../protocol/messages.js';
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from './relay-pacing.js';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export interface TurnConfig {
  urls: string[];
  /** Shared secret for short-lived credentials (coturn use-auth-secret). */
  secret?: string;
  /** Static credentials for a hosted TURN provider. */
  username?: string;
  credential?: string;
  /** Lifetime of a secret-derived credential, seconds. */
  ttlSeconds: number;
}

/** How long clients wait on each rung of the connection ladder, ms (the wire form is in welcome). */
export interface IceTimeouts {
  direct_ms: number;
  turn_ms: number;
}

/** Where HTTPS gets its certificate: files given by the operator, or one made for the LAN. */
export interface TlsConfig {
  certFile?: string;
  keyFile?: string;
  /** Make (once, then reuse) a self-signed certificate for this machine's addresses. */
  selfSigned: boolean;
  /** Where a generated certificate is kept. */
  dir: string;
}

export interface Limits {
  /** Frames larger than this are answered with too_large. */
  maxMessageBytes: number;
  /** Token bucket per connection: burst size and refill per second. */
  messageBurst: number;
  messagesPerSecond: number;
  maxViewersPerRoom: number;
  /** Rooms (live or waiting for their broadcaster) that one client IP may hold. */
  maxRoomsPerIp: number;
  /** Open signalling connections from one client IP. */
  maxConnectionsPerIp: number;
  /** Failed joins (unknown code, wrong password) one IP may make per minute: stops guessing codes. */
  failedJoinsPerMinute: number;
}

/** Chat messages per connection: a token bucket of its own, inside the general message budget. */
export interface ChatLimits {
  /** chat_send refilled per second. */
  messagesPerSecond: number;
  /** chat_send at once. */
  burst: number;
}

/** The SFU (src/server/sfu/): its media port and how long its sessions wait. */
export interface SfuConfig {
  /** The one UDP port of all server-side WebRTC media (ICE UDP mux); 0 lets the OS choose. */
  udpPort: number;
  /** The address put in the SFU's host candidates, for a server behind NAT. */
  announcedIp?: string;
  /** A WHIP/WHEP session whose ICE has not connected this long after its answer is freed. */
  connectTimeoutMs: number;
  /** A session that lost its path ('disconnected') is freed if it is not back within this long. */
  disconnectedMs: number;
  /** A connected session from which nothing arrives for this long is freed (see PeerTimeouts.idleMs). */
  idleMs: number;
  /** A WHIP publisher that dropped (not DELETEd) is waited for this long before its viewers are let go. */
  publisherGraceMs: number;
  /** How long a use_sfu ticket is good for. */
  ticketMs: number;
  /** The largest SDP offer accepted, bytes. */
  maxSdpBytes: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface Config {
  port: number;
  host: string;
  stunUrls: string[];
  turn: TurnConfig;
  iceTimeouts: IceTimeouts;
  tls: TlsConfig;
  /** How long a room waits for its broadcaster to come back, ms. */
  roomGraceMs: number;
  /** How often stats_summary goes to every room with viewers, ms. */
  statsIntervalMs: number;
  /** How often dead connections are looked for; one missed pong cuts them. */
  heartbeatMs: number;
  limits: Limits;
  chat: ChatLimits;
  /** How the server relay paces viewers that fall behind. */
  relay: RelayLimits;
  sfu: SfuConfig;
  /** Secret the room tokens are derived from; random per process unless set. */
  roomSecret?: string;
  /** Where the built web app lives. */
  staticDir: string;
  /** Take the client IP from X-Forwarded-For (only behind a reverse proxy that sets it). */
  trustProxy: boolean;
  /** Origins allowed to open /ws; empty means "the same origin as the Host header". */
  allowedOrigins: string[];
  /** Where the server keeps state across restarts (the generated room secret). */
  dataDir: string;
  logLevel: LogLevel;
  /** On SIGTERM: how long clients get to leave before the rest are cut, ms. */
  drainMs: number;
  /** The reconnect hint sent with server_going_away, ms. */
  reconnectAfterMs: number;
}

export const DEFAULT_STUN_URLS = [
  'stun:stun.l.google.com:19302',
  'stun:stun1.l.google.com:19302',
  'stun:stun2.l.google.com:19302',
  'stun:stun3.l.google.com:19302',
  'stun:stun4.l.google.com:19302',
  'stun:stun.stunprotocol.org:3478',
];

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/server/config.js and src/server/config.ts both sit two levels under the root. */
const DEFAULT_STATIC_DIR = path.resolve(here, '../../dist/web');

export function defaultConfig(): Config {
  return {
    port: 8080,
    host: '0.0.0.0',
    stunUrls: [...DEFAULT_STUN_URLS],
    turn: { urls: [], ttlSeconds: 3600 },
    // Measured in docs/BENCHMARKS.md: a direct or TURN path connects well within these on a
    // slow machine; the margin covers a phone on a congested network.
    iceTimeouts: { ...ICE_TIMEOUT_DEFAULTS },
    tls: { selfSigned: false, dir: path.resolve('.liveroom') },
    roomGraceMs: 60_000,
    statsIntervalMs: 1_000,
    heartbeatMs: 5_000,
    limits: {
      maxMessageBytes: 64 * 1024,
      messageBurst: 200,
      messagesPerSecond: 50,
      maxViewersPerRoom: 100,
      maxRoomsPerIp: 20,
      maxConnectionsPerIp: 200,
      failedJoinsPerMinute: 20,
    },
    // A person typing sends far less than one message a second on average; five at once
    // covers a quick exchange, and a script gets one a second.
    chat: { messagesPerSecond: 1, burst: 5 },
    relay: { ...DEFAULT_RELAY_LIMITS },
    sfu: {
      udpPort: 8080,
      connectTimeoutMs: 15_000,
      disconnectedMs: 10_000,
      idleMs: 15_000,
      publisherGraceMs: 10_000,
      ticketMs: 30_000,
      // A browser's offer is 6–10 kB (every codec twice, with RTX); OBS's under 2 kB.
      maxSdpBytes: 32 * 1024,
    },
    staticDir: DEFAULT_STATIC_DIR,
    trustProxy: false,
    allowedOrigins: [],
    dataDir: path.resolve('.liveroom'),
    logLevel: 'info',
    drainMs: 5_000,
    reconnectAfterMs: 1_000,
  };
}

export class ConfigError extends Error {}

/** The settings a user may give, with the env name, the flag and how to read it. */
const SETTINGS: { env: string; flag: string; help: string; apply: (c: Config, v: string) => void; boolean?: true }[] = [
  { env: 'PORT', flag: '--port', help: 'TCP port to listen on (8080)', apply: (c, v) => (c.port = int(v, 'port', 0, 65535)) },
  { env: 'HOST', flag: '--host', help: 'address to listen on (0.0.0.0)', apply: (c, v) => (c.host = nonEmpty(v, 'host')) },
  { env: 'STUN_URLS', flag: '--stun-urls', help: 'comma-separated STUN URLs; empty for none', apply: (c, v) => (c.stunUrls = urlList(v, ['stun:', 'stuns:'], 'STUN_URLS')) },
  { env: 'TURN_URLS', flag: '--turn-urls', help: 'comma-separated turn:/turns: URLs', apply: (c, v) => (c.turn.urls = urlList(v, ['turn:', 'turns:'], 'TURN_URLS')) },
  { env: 'TURN_SECRET', flag: '--turn-secret', help: 'shared secret for short-lived TURN credentials', apply: (c, v) => (c.turn.secret = v || undefined) },
  { env: 'TURN_USERNAME', flag: '--turn-username', help: 'static TURN username', apply: (c, v) => (c.turn.username = v || undefined) },
  { env: 'TURN_CREDENTIAL', flag: '--turn-credential', help: 'static TURN password', apply: (c, v) => (c.turn.credential = v || undefined) },
  { env: 'TURN_TTL', flag: '--turn-ttl', help: 'TURN credential lifetime, seconds (3600)', apply: (c, v) => (c.turn.ttlSeconds = int(v, 'TURN_TTL', 60, 7 * 86400)) },
  { env: 'ICE_DIRECT_TIMEOUT', flag: '--ice-direct-timeout', help: 'seconds before a viewer retries over TURN only (5)', apply: (c, v) => (c.iceTimeouts.direct_ms = num(v, 'ICE_DIRECT_TIMEOUT', 0.5, 120) * 1000) },
  { env: 'ICE_TURN_TIMEOUT', flag: '--ice-turn-timeout', help: 'seconds on TURN before a viewer asks for the server relay (8)', apply: (c, v) => (c.iceTimeouts.turn_ms = num(v, 'ICE_TURN_TIMEOUT', 0.5, 120) * 1000) },
  { env: 'TLS_CERT', flag: '--tls-cert', help: 'PEM certificate (chain) file: serve HTTPS and WSS', apply: (c, v) => (c.tls.certFile = v ? path.resolve(v) : undefined) },
  { env: 'TLS_KEY', flag: '--tls-key', help: 'PEM private key file of --tls-cert', apply: (c, v) => (c.tls.keyFile = v ? path.resolve(v) : undefined) },
  { env: 'HTTPS', flag: '--https', boolean: true, help: 'serve HTTPS with a self-signed certificate for the LAN addresses (kept in .liveroom/)', apply: (c, v) => (c.tls.selfSigned = bool(v, 'HTTPS')) },
  { env: 'UDP_PORT', flag: '--udp-port', help: 'UDP port of all SFU media (WHIP/WHEP); 0 lets the OS choose (8080)', apply: (c, v) => (c.sfu.udpPort = int(v, 'UDP_PORT', 0, 65535)) },
  { env: 'ANNOUNCED_IP', flag: '--announced-ip', help: 'address in the SFU candidates, for a server behind NAT (its own addresses)', apply: (c, v) => (c.sfu.announcedIp = ipAddress(v)) },
  { env: 'ROOM_GRACE', flag: '--room-grace', help: 'seconds a room waits for its broadcaster (60)', apply: (c, v) => (c.roomGraceMs = num(v, 'ROOM_GRACE', 0, 86400) * 1000) },
  { env: 'MAX_VIEWERS', flag: '--max-viewers', help: 'viewers per room (100)', apply: (c, v) => (c.limits.maxViewersPerRoom = int(v, 'MAX_VIEWERS', 1, 100_000)) },
  { env: 'MAX_MESSAGE_BYTES', flag: '--max-message-bytes', help: 'largest accepted WebSocket frame (65536)', apply: (c, v) => (c.limits.maxMessageBytes = int(v, 'MAX_MESSAGE_BYTES', 1024, 1 << 20)) },
  { env: 'MESSAGE_RATE', flag: '--message-rate', help: 'messages per second per connection (50)', apply: (c, v) => (c.limits.messagesPerSecond = num(v, 'MESSAGE_RATE', 1, 100_000)) },
  { env: 'MESSAGE_BURST', flag: '--message-burst', help: 'burst of messages per connection (200)', apply: (c, v) => (c.limits.messageBurst = int(v, 'MESSAGE_BURST', 1, 1_000_000)) },
  { env: 'CHAT_RATE', flag: '--chat-rate', help: 'chat messages per second per connection (1)', apply: (c, v) => (c.chat.messagesPerSecond = num(v, 'CHAT_RATE', 0.01, 1000)) },
  { env: 'CHAT_BURST', flag: '--chat-burst', help: 'chat messages at once per connection (5)', apply: (c, v) => (c.chat.burst = int(v, 'CHAT_BURST', 1, 10_000)) },
  { env: 'ROOM_SECRET', flag: '--room-secret', help: 'secret that room tokens are derived from (random per start)', apply: (c, v) => (c.roomSecret = v || undefined) },
  { env: 'STATIC_DIR', flag: '--static-dir', help: 'directory of the built web app (dist/web)', apply: (c, v) => (c.staticDir = path.resolve(nonEmpty(v, 'static dir'))) },
  // Abuse limits and operations.
  { env: 'MAX_ROOMS_PER_IP', flag: '--max-rooms-per-ip', help: 'rooms one client IP may hold (20)', apply: (c, v) => (c.limits.maxRoomsPerIp = int(v, 'MAX_ROOMS_PER_IP', 1, 1_000_000)) },
  { env: 'MAX_CONNECTIONS_PER_IP', flag: '--max-connections-per-ip', help: 'signalling connections from one client IP (200)', apply: (c, v) => (c.limits.maxConnectionsPerIp = int(v, 'MAX_CONNECTIONS_PER_IP', 1, 10_000_000)) },
  { env: 'FAILED_JOINS_PER_MINUTE', flag: '--failed-joins-per-minute', help: 'failed joins per client IP per minute (20)', apply: (c, v) => (c.limits.failedJoinsPerMinute = int(v, 'FAILED_JOINS_PER_MINUTE', 1, 1_000_000)) },
  { env: 'TRUST_PROXY', flag: '--trust-proxy', help: 'client IP from X-Forwarded-For: true behind a reverse proxy (false)', apply: (c, v) => (c.trustProxy = bool(v, 'TRUST_PROXY')) },
  { env: 'ALLOWED_ORIGINS', flag: '--allowed-origins', help: 'comma-separated origins allowed to open /ws (same origin as Host)', apply: (c, v) => (c.allowedOrigins = originList(v)) },
  { env: 'DATA_DIR', flag: '--data-dir', help: 'where the generated room secret is kept (.liveroom)', apply: (c, v) => (c.dataDir = path.resolve(nonEmpty(v, 'DATA_DIR'))) },
  { env: 'LOG_LEVEL', flag: '--log-level', help: `${LOG_LEVELS.join('|')} (info)`, apply: (c, v) => (c.logLevel = logLevel(v)) },
  { env: 'DRAIN_TIMEOUT', flag: '--drain-timeout', help: 'seconds clients get to leave on SIGTERM (5)', apply: (c, v) => (c.drainMs = num(v, 'DRAIN_TIMEOUT', 0, 600) * 1000) },
  { env: 'RECONNECT_AFTER', flag: '--reconnect-after', help: 'reconnect hint sent on shutdown, seconds (1)', apply: (c, v) => (c.reconnectAfterMs = num(v, 'RECONNECT_AFTER', 0, 600) * 1000) },
];

export function usage(): string {
  const rows = SETTINGS.map((s) => `  ${(s.boolean ? s.flag : s.flag + ' <value>').padEnd(34)} ${s.env.padEnd(24)} ${s.help}`);
  return [
    'Usage: liveroom [flags]   (every flag also reads from the environment variable beside it)',
    `  ${'--config <file.json>'.padEnd(34)} ${'CONFIG_FILE'.padEnd(24)} JSON object of the settings below, by env name`,
    ...rows,
  ].join('\n');
}

/**
 * Settings from a JSON config file: an object whose keys are the environment
 * names above (`{"PORT": 8080, "MAX_VIEWERS": 50}`). Unknown keys and values that
 * are not strings, numbers or booleans are refused, like a bad flag.
 */
export function readConfigFile(file: string, read: (f: string) => string = (f) => readFileSync(f, 'utf8')): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(read(file));
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`config file ${file}: must hold one JSON object of settings`);
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!SETTINGS.some((s) => s.env === key)) throw new ConfigError(`config file ${file}: unknown setting "${key}"`);
    if (Array.isArray(v)) out[key] = v.map(String).join(',');
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
    else throw new ConfigError(`config file ${file}: ${key} must be a string, number, boolean or list`);
  }
  return out;
}

/** Build the configuration: defaults < config file (--config / CONFIG_FILE) < environment < flags. */
export function loadConfig(env: NodeJS.ProcessEnv, argv: string[]): Config {
  const config = defaultConfig();
  const configFlag = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  let file = env.CONFIG_FILE;
  if (configFlag >= 0) {
    const arg = argv[configFlag]!;
    file = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[configFlag + 1];
    if (file === undefined) throw new ConfigError('--config needs a value');
    argv = [...argv.slice(0, configFlag), ...argv.slice(configFlag + (arg.includes('=') ? 1 : 2))];
  }
  if (file) {
    const fromFile = readConfigFile(file);
    for (const s of SETTINGS) {
      const v = fromFile[s.env];
      if (v !== undefined) s.apply(config, v.trim());
    }
  }
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v !== undefined) s.apply(config, v.trim());
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const setting = SETTINGS.find((s) => s.flag === name);
    if (!setting) throw new ConfigError(`unknown option ${name}\n${usage()}`);
    const value = inline ?? (setting.boolean ? 'true' : argv[++i]);
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    setting.apply(config, value.trim());
  }
  validate(config);
  return config;
}

function validate(c: Config): void {
  const t = c.turn;
  if ((t.username === undefined) !== (t.credential === undefined)) {
    throw new ConfigError('TURN_USERNAME and TURN_CREDENTIAL go together');
  }
  if (t.secret && t.username) throw new ConfigError('use either TURN_SECRET or TURN_USERNAME/TURN_CREDENTIAL, not both');
  if (t.urls.length && !t.secret && !t.username) {
    throw new ConfigError('TURN_URLS needs credentials: TURN_SECRET (recommended) or TURN_USERNAME/TURN_CREDENTIAL');
  }
  if ((c.tls.certFile === undefined) !== (c.tls.keyFile === undefined)) throw new ConfigError('TLS_CERT and TLS_KEY go together');
  if (c.tls.certFile && c.tls.selfSigned) throw new ConfigError('use either --https or --tls-cert/--tls-key, not both');
}

function bool(v: string, name: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off|)$/i.test(v)) return false;
  throw new ConfigError(`${name} must be true or false, got "${v}"`);
}

function int(v: string, name: string, min: number, max: number): number {
  const n = num(v, name, min, max);
  if (!Number.isInteger(n)) throw new ConfigError(`${name} must be a whole number, got "${v}"`);
  return n;
}

function num(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a number from ${min} to ${max}, got "${v}"`);
  }
  return n;
}

function logLevel(v: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === v.toLowerCase());
  if (!level) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${v}"`);
  return level;
}

/** "*" allows any origin; otherwise each entry must be a bare origin like https://live.example.com. */
function originList(v: string): string[] {
  const origins = v.split(',').map((o) => o.trim()).filter(Boolean);
  for (const o of origins) {
    if (o === '*') continue;
    let parsed: URL;
    try {
      parsed = new URL(o);
    } catch {
      throw new ConfigError(`ALLOWED_ORIGINS: "${o}" is not an origin like https://live.example.com`);
    }
    if (parsed.origin !== o) throw new ConfigError(`ALLOWED_ORIGINS: "${o}" must be a bare origin (scheme://host[:port]), e.g. ${parsed.origin}`);
  }
  return origins;
}

/** An IPv4 or IPv6 address (not a name: it goes into ICE candidates as it is); empty for none. */
function ipAddress(v: string): string | undefined {
  if (v === '') return undefined;
  if (!isIP(v)) throw new ConfigError(`ANNOUNCED_IP must be an IPv4 or IPv6 address, got "${v}"`);
  return v;
}

function nonEmpty(v: string, name: string): string {
  if (!v) throw new ConfigError(`${name} must not be empty`);
  return v;
}

function urlList(v: string, schemes: string[], name: string): string[] {
  const urls = v.split(',').map((u) => u.trim()).filter(Boolean);
  for (const u of urls) {
    if (!schemes.some((s) => u.startsWith(s))) {
      throw new ConfigError(`${name}: "${u}" must start with ${schemes.join(' or ')}`);
    }
  }
  return urls;
}
