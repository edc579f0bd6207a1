// The connectivity self-test, without any DOM: the signalling round trip,
// STUN (does a server-reflexive candidate appear?) and a TURN allocation per
// configured URL (does a relay candidate appear, or what did the server say?).
// Like Galène's relay-test: each probe is a throwaway RTCPeerConnection with a
// data channel, restricted to the one server under test.
import type { IceServer } from '../../protocol/messages.js';
import type { SignallingClient } from '../signalling/client.js';

export type CheckStatus = 'ok' | 'fail' | 'none';

export type TurnTransport = 'udp' | 'tcp' | 'tls';

export interface CheckResult {
  kind: 'signalling' | 'stun' | 'turn';
  /** The URL probed ('' for signalling, or when none is configured). */
  url: string;
  transport?: TurnTransport;
  status: CheckStatus;
  ms: number;
  /** The candidate's address (the public one for STUN, the relay's for TURN). */
  address?: string;
  /** Why a probe failed: an ICE error code (401 refused credentials, 701 no answer), or 'timeout'. */
  error?: string;
}

/** The transport a TURN URL asks for. */
export function turnTransport(url: string): TurnTransport {
  if (/^turns:/i.test(url)) return 'tls';
  return /[?&]transport=tcp/i.test(url) ? 'tcp' : 'udp';
}

export async function checkSignalling(signalling: SignallingClient, timeoutMs = 5_000): Promise<CheckResult> {
  const started = performance.now();
  try {
    if (!signalling.connected) await withTimeout(signalling.connect(), timeoutMs);
    const sent = performance.now();
    await withTimeout(
      new Promise<void>((resolve) => {
        const off = signalling.on('pong', () => {
          off();
          resolve();
        });
        signalling.send({ type: 'ping' });
      }),
      timeoutMs,
    );
    return { kind: 'signalling', url: '', status: 'ok', ms: Math.round(performance.now() - sent) };
  } catch {
    return { kind: 'signalling', url: '', status: 'fail', ms: Math.round(performance.now() - started), error: 'timeout' };
  }
}

/** Gather candidates with one ICE server and report the first of the wanted type. */
export async function probe(server: IceServer, url: string, kind: 'stun' | 'turn', timeoutMs = 8_000): Promise<CheckResult> {
  const want = kind === 'stun' ? 'srflx' : 'relay';
  const pc = new RTCPeerConnection({
    iceServers: [{ urls: [url], username: server.username, credential: server.credential }],
    iceTransportPolicy: kind === 'turn' ? 'relay' : 'all',
  });
  const started = performance.now();
  const base = { kind, url, ...(kind === 'turn' ? { transport: turnTransport(url) } : {}) };
  const errors: string[] = [];
  try {
    const found = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      pc.onicecandidate = ({ candidate }) => {
        if (candidate?.type === want) {
          clearTimeout(timer);
          resolve(candidate.address ?? '');
        }
      };
      pc.onicecandidateerror = (e) => errors.push(String((e as RTCPeerConnectionIceErrorEvent).errorCode));
      pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve(null);
        }
      };
      pc.createDataChannel('probe');
      void pc.createOffer().then((offer) => pc.setLocalDescription(offer));
    });
    const ms = Math.round(performance.now() - started);
    if (found !== null) return { ...base, status: 'ok', ms, address: found };
    // 401: refused credentials; 701: no answer from the server; anything else as it came.
    return { ...base, status: 'fail', ms, error: errors.find((c) => c !== '701') ?? errors[0] ?? 'timeout' };
  } finally {
    pc.close();
  }
}

/** Every check, in order; `onResult` sees each as it completes. */
export async function runConnectivityChecks(signalling: SignallingClient, onResult: (r: CheckResult) => void): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (r: CheckResult) => {
    results.push(r);
    onResult(r);
  };
  const signal = await checkSignalling(signalling);
  add(signal);
  if (signal.status !== 'ok') return results;
  const servers = signalling.iceServers;
  const stun = servers.flatMap((s) => s.urls.filter((u) => /^stuns?:/i.test(u)).map((url) => ({ s, url })));
  const turn = servers.flatMap((s) => s.urls.filter((u) => /^turns?:/i.test(u)).map((url) => ({ s, url })));
  if (!stun.length) add({ kind: 'stun', url: '', status: 'none', ms: 0 });
  if (!turn.length) add({ kind: 'turn', url: '', status: 'none', ms: 0 });
  // In parallel: each probe mostly waits on the network.
  await Promise.all([...stun.map(({ s, url }) => probe(s, url, 'stun').then(add)), ...turn.map(({ s, url }) => probe(s, url, 'turn').then(add))]);
  return results;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))]);
}
