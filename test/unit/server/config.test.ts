// Configuration: defaults < environment < flags, and a clear ConfigError for bad values.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ConfigError, DEFAULT_STUN_URLS, defaultConfig, loadConfig, usage } from '../../../src/server/config.js';

function configError(env: NodeJS.ProcessEnv, argv: string[] = []): ConfigError {
  try {
    loadConfig(env, argv);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify({ env, argv })}`);
}

describe('defaults', () => {
  it('match the contract', () => {
    const c = loadConfig({}, []);
    expect(c.port).toBe(8080);
    expect(c.host).toBe('0.0.0.0');
    expect(c.stunUrls).toEqual(DEFAULT_STUN_URLS);
    expect(c.stunUrls.length).toBeGreaterThan(0);
    expect(c.stunUrls.every((u) => u.startsWith('stun:'))).toBe(true);
    expect(c.turn).toEqual({ urls: [], ttlSeconds: 3600 });
    expect(c.limits.maxMessageBytes).toBe(64 * 1024);
    expect(c.statsIntervalMs).toBeLessThanOrEqual(2_000);
    expect(c.roomSecret).toBeUndefined();
    expect(c.sfu.udpPort).toBe(8080);
    expect(c.sfu.announcedIp).toBeUndefined();
    expect(c).toEqual(defaultConfig());
  });

  it('each defaultConfig() is a fresh object', () => {
    const a = defaultConfig();
    a.stunUrls.push('stun:x');
    a.limits.maxViewersPerRoom = 1;
    expect(defaultConfig().stunUrls).toEqual(DEFAULT_STUN_URLS);
    expect(defaultConfig().limits.maxViewersPerRoom).toBe(100);
  });
});

describe('environment', () => {
  it('reads every documented variable', () => {
    const c = loadConfig(
      {
        PORT: '9000',
        HOST: '127.0.0.1',
        STUN_URLS: 'stun:a.example.org:3478, stuns:b.example.org ,',
        TURN_URLS: 'turn:t.example.org:3478,turns:t.example.org:5349',
        TURN_SECRET: 'shh',
        TURN_TTL: '600',
        ROOM_GRACE: '2.5',
        MAX_VIEWERS: '7',
        MAX_MESSAGE_BYTES: '2048',
        MESSAGE_RATE: '5',
        MESSAGE_BURST: '10',
        ROOM_SECRET: 'rooms',
        STATIC_DIR: 'some/dir',
        MAX_ROOMS_PER_IP: '3',
        MAX_CONNECTIONS_PER_IP: '40',
        FAILED_JOINS_PER_MINUTE: '9',
        TRUST_PROXY: 'true',
        ALLOWED_ORIGINS: 'https://live.example.com, http://localhost:5173',
        DATA_DIR: 'var/lr',
        LOG_LEVEL: 'warn',
        DRAIN_TIMEOUT: '2',
        RECONNECT_AFTER: '0.5',
      },
      [],
    );
    expect(c.port).toBe(9000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.stunUrls).toEqual(['stun:a.example.org:3478', 'stuns:b.example.org']);
    expect(c.turn).toEqual({ urls: ['turn:t.example.org:3478', 'turns:t.example.org:5349'], secret: 'shh', ttlSeconds: 600 });
    expect(c.roomGraceMs).toBe(2500);
    expect(c.limits).toEqual({
      maxViewersPerRoom: 7,
      maxMessageBytes: 2048,
      messagesPerSecond: 5,
      messageBurst: 10,
      maxRoomsPerIp: 3,
      maxConnectionsPerIp: 40,
      failedJoinsPerMinute: 9,
    });
    expect(c.trustProxy).toBe(true);
    expect(c.allowedOrigins).toEqual(['https://live.example.com', 'http://localhost:5173']);
    expect(c.dataDir).toBe(path.resolve('var/lr'));
    expect(c.logLevel).toBe('warn');
    expect(c.drainMs).toBe(2000);
    expect(c.reconnectAfterMs).toBe(500);
    expect(c.roomSecret).toBe('rooms');
    expect(c.staticDir).toBe(path.resolve('some/dir'));
  });

  it('STUN_URLS="" means no STUN servers', () => {
    expect(loadConfig({ STUN_URLS: '' }, []).stunUrls).toEqual([]);
    expect(loadConfig({ STUN_URLS: ' , ' }, []).stunUrls).toEqual([]);
  });

  it('static TURN credentials', () => {
    const c = loadConfig({ TURN_URLS: 'turn:t.example.org', TURN_USERNAME: 'u', TURN_CREDENTIAL: 'p' }, []);
    expect(c.turn).toMatchObject({ urls: ['turn:t.example.org'], username: 'u', credential: 'p' });
    expect(c.turn.secret).toBeUndefined();
  });

  it('values are trimmed and unrelated variables ignored', () => {
    const c = loadConfig({ PORT: ' 8081 ', HOME: '/root', PATH: '/bin' }, []);
    expect(c.port).toBe(8081);
  });
});

describe('flags', () => {
  it('as "--flag value" and "--flag=value"', () => {
    const c = loadConfig({}, ['--port', '7000', '--host=::1', '--stun-urls=', '--turn-urls', 'turn:x.example.org', '--turn-username', 'u', '--turn-credential=p=q']);
    expect(c.port).toBe(7000);
    expect(c.host).toBe('::1');
    expect(c.stunUrls).toEqual([]);
    expect(c.turn).toMatchObject({ urls: ['turn:x.example.org'], username: 'u', credential: 'p=q' });
  });

  it('override the environment', () => {
    const c = loadConfig({ PORT: '9000', HOST: '10.0.0.1', STUN_URLS: 'stun:env.example.org', TURN_TTL: '600' }, [
      '--port',
      '9100',
      '--host',
      '127.0.0.1',
      '--stun-urls',
      'stun:flag.example.org',
    ]);
    expect(c.port).toBe(9100);
    expect(c.host).toBe('127.0.0.1');
    expect(c.stunUrls).toEqual(['stun:flag.example.org']);
    expect(c.turn.ttlSeconds).toBe(600); // untouched by flags
  });

  it('usage names every flag and variable', () => {
    const text = usage();
    for (const word of ['--port', '--host', 'PORT', 'HOST', 'STUN_URLS', 'TURN_URLS', 'TURN_SECRET', 'TURN_USERNAME', 'TURN_CREDENTIAL', 'TURN_TTL', 'UDP_PORT', '--udp-port', 'ANNOUNCED_IP', '--announced-ip']) {
      expect(text).toContain(word);
    }
  });
});

describe('config file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'liveroom-config-'));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('is read with --config, below the environment and the flags', () => {
    const file = write('ok.json', JSON.stringify({ PORT: 9001, MAX_VIEWERS: 12, TRUST_PROXY: true, ALLOWED_ORIGINS: ['https://a.example.com'], LOG_LEVEL: 'debug' }));
    const c = loadConfig({ LOG_LEVEL: 'error' }, ['--config', file, '--port', '9002']);
    expect(c.port).toBe(9002);
    expect(c.limits.maxViewersPerRoom).toBe(12);
    expect(c.trustProxy).toBe(true);
    expect(c.allowedOrigins).toEqual(['https://a.example.com']);
    expect(c.logLevel).toBe('error');
  });

  it('is read from CONFIG_FILE too', () => {
    const file = write('env.json', '{"MAX_ROOMS_PER_IP": 4}');
    expect(loadConfig({ CONFIG_FILE: file }, []).limits.maxRoomsPerIp).toBe(4);
  });

  it('refuses bad files with a clear message', () => {
    expect(configError({}, [`--config=${write('bad.json', '{"PORT": 8080,')}`]).message).toMatch(/config file .*bad\.json/);
    expect(configError({}, ['--config', write('arr.json', '[1]')]).message).toMatch(/one JSON object/);
    expect(configError({}, ['--config', write('unknown.json', '{"PROT": 1}')]).message).toMatch(/unknown setting "PROT"/);
    expect(configError({}, ['--config', write('nested.json', '{"PORT": {"a": 1}}')]).message).toMatch(/PORT must be/);
    expect(configError({}, ['--config', write('range.json', '{"PORT": 99999}')]).message).toMatch(/port.*0 to 65535/);
    expect(configError({}, ['--config', path.join(dir, 'missing.json')]).message).toMatch(/missing\.json/);
  });
});

describe('bad values throw ConfigError naming the setting', () => {
  const cases: [string, NodeJS.ProcessEnv, string[], RegExp][] = [
    ['non-numeric PORT', { PORT: 'http' }, [], /port.*"http"/],
    ['PORT out of range', { PORT: '70000' }, [], /port.*0 to 65535/],
    ['negative PORT', { PORT: '-1' }, [], /port/],
    ['fractional PORT', { PORT: '80.5' }, [], /port must be a whole number/],
    ['empty PORT', { PORT: '' }, [], /port/],
    ['bad --port flag', {}, ['--port', 'abc'], /port.*"abc"/],
    ['empty HOST', { HOST: ' ' }, [], /host must not be empty/],
    ['TURN_TTL too small', { TURN_TTL: '10' }, [], /TURN_TTL/],
    ['TURN_TTL not a number', { TURN_TTL: 'hour' }, [], /TURN_TTL.*"hour"/],
    ['STUN_URLS with another scheme', { STUN_URLS: 'stun:ok.example.org,http://x.example.org' }, [], /STUN_URLS.*http:\/\/x\.example\.org/],
    ['TURN_URLS with a stun: url', { TURN_URLS: 'stun:x.example.org', TURN_SECRET: 's' }, [], /TURN_URLS.*turn:/],
    ['TURN_URLS without credentials', { TURN_URLS: 'turn:x.example.org' }, [], /TURN_URLS needs credentials/],
    ['TURN_USERNAME without TURN_CREDENTIAL', { TURN_URLS: 'turn:x.example.org', TURN_USERNAME: 'u' }, [], /TURN_USERNAME and TURN_CREDENTIAL/],
    ['TURN_CREDENTIAL without TURN_USERNAME', { TURN_CREDENTIAL: 'p' }, [], /TURN_USERNAME and TURN_CREDENTIAL/],
    ['secret and static credentials', { TURN_URLS: 'turn:x.example.org', TURN_SECRET: 's', TURN_USERNAME: 'u', TURN_CREDENTIAL: 'p' }, [], /either TURN_SECRET or/],
    ['MAX_VIEWERS zero', { MAX_VIEWERS: '0' }, [], /MAX_VIEWERS/],
    ['MESSAGE_BURST fractional', { MESSAGE_BURST: '1.5' }, [], /MESSAGE_BURST/],
    ['ROOM_GRACE negative', { ROOM_GRACE: '-5' }, [], /ROOM_GRACE/],
    ['unknown flag', {}, ['--prot', '80'], /unknown option --prot/],
    ['flag without a value', {}, ['--port'], /--port needs a value/],
    ['MAX_ROOMS_PER_IP zero', { MAX_ROOMS_PER_IP: '0' }, [], /MAX_ROOMS_PER_IP/],
    ['MAX_CONNECTIONS_PER_IP not a number', { MAX_CONNECTIONS_PER_IP: 'many' }, [], /MAX_CONNECTIONS_PER_IP.*"many"/],
    ['FAILED_JOINS_PER_MINUTE fractional', { FAILED_JOINS_PER_MINUTE: '2.5' }, [], /FAILED_JOINS_PER_MINUTE/],
    ['TRUST_PROXY not a boolean', { TRUST_PROXY: 'maybe' }, [], /TRUST_PROXY must be true or false/],
    ['ALLOWED_ORIGINS with a path', { ALLOWED_ORIGINS: 'https://a.example.com/app' }, [], /ALLOWED_ORIGINS.*bare origin/],
    ['ALLOWED_ORIGINS not a URL', { ALLOWED_ORIGINS: 'example.com' }, [], /ALLOWED_ORIGINS.*"example\.com"/],
    ['LOG_LEVEL unknown', {}, ['--log-level', 'loud'], /LOG_LEVEL must be one of/],
    ['DRAIN_TIMEOUT negative', { DRAIN_TIMEOUT: '-1' }, [], /DRAIN_TIMEOUT/],
    ['--config without a value', {}, ['--config'], /--config needs a value/],
    ['UDP_PORT out of range', { UDP_PORT: '65536' }, [], /UDP_PORT.*0 to 65535/],
    ['UDP_PORT not a number', {}, ['--udp-port', 'rtp'], /UDP_PORT.*"rtp"/],
    ['ANNOUNCED_IP a host name', { ANNOUNCED_IP: 'live.example.com' }, [], /ANNOUNCED_IP must be an IPv4 or IPv6 address.*live\.example\.com/],
  ];
  for (const [name, env, argv, pattern] of cases) {
    it(name, () => {
      expect(configError(env, argv).message).toMatch(pattern);
    });
  }
});

describe('the SFU', () => {
  it('UDP_PORT (0 lets the OS choose) and ANNOUNCED_IP, IPv4 or IPv6; flags over env', () => {
    expect(loadConfig({ UDP_PORT: '0', ANNOUNCED_IP: '203.0.113.7' }, []).sfu).toMatchObject({ udpPort: 0, announcedIp: '203.0.113.7' });
    expect(loadConfig({ UDP_PORT: '5000' }, ['--udp-port', '6000', '--announced-ip', '2001:db8::7']).sfu).toMatchObject({ udpPort: 6000, announcedIp: '2001:db8::7' });
    expect(loadConfig({ ANNOUNCED_IP: '' }, []).sfu.announcedIp).toBeUndefined();
  });
});

describe('connection ladder and TLS settings', () => {
  it('ICE_DIRECT_TIMEOUT / ICE_TURN_TIMEOUT in seconds, flags over env', () => {
    expect(loadConfig({}, []).iceTimeouts).toEqual({ direct_ms: 5000, turn_ms: 8000 });
    const c = loadConfig({ ICE_DIRECT_TIMEOUT: '2.5', ICE_TURN_TIMEOUT: '4' }, ['--ice-turn-timeout', '6']);
    expect(c.iceTimeouts).toEqual({ direct_ms: 2500, turn_ms: 6000 });
    expect(configError({ ICE_DIRECT_TIMEOUT: '0' }).message).toMatch(/ICE_DIRECT_TIMEOUT/);
  });

  it('--https takes no value; TLS_CERT and TLS_KEY go together and exclude --https', () => {
    expect(loadConfig({}, ['--https', '--port', '9000']).tls.selfSigned).toBe(true);
    expect(loadConfig({ HTTPS: '1' }, []).tls.selfSigned).toBe(true);
    expect(loadConfig({}, ['--https=false']).tls.selfSigned).toBe(false);
    const c = loadConfig({ TLS_CERT: 'c.pem' }, ['--tls-key', 'k.pem']);
    expect(c.tls.certFile).toBe(path.resolve('c.pem'));
    expect(c.tls.keyFile).toBe(path.resolve('k.pem'));
    expect(configError({ TLS_CERT: 'c.pem' }).message).toMatch(/TLS_CERT and TLS_KEY/);
    expect(configError({ TLS_CERT: 'c.pem', TLS_KEY: 'k.pem' }, ['--https']).message).toMatch(/either --https/);
    expect(configError({ HTTPS: 'maybe' }).message).toMatch(/HTTPS/);
    expect(usage()).toMatch(/--https\s+HTTPS/);
  });
});

describe('chat limits', () => {
  it('CHAT_RATE and CHAT_BURST: one a second and five at once by default; env and flags; bad values refused', () => {
    expect(defaultConfig().chat).toEqual({ messagesPerSecond: 1, burst: 5 });
    expect(loadConfig({ CHAT_RATE: '0.5', CHAT_BURST: '3' }, []).chat).toEqual({ messagesPerSecond: 0.5, burst: 3 });
    expect(loadConfig({ CHAT_RATE: '0.5' }, ['--chat-rate', '2', '--chat-burst=8']).chat).toEqual({ messagesPerSecond: 2, burst: 8 });
    expect(configError({ CHAT_RATE: '0' }).message).toContain('CHAT_RATE');
    expect(configError({ CHAT_BURST: '2.5' }).message).toContain('CHAT_BURST');
  });
});
