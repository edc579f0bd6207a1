// WHIP and WHEP from the browser: the same PeerLink as every other connection,
// signalled over HTTP instead of the signalling socket (RFC 9725 and the WHEP
// draft). The offer goes out at once, with whatever candidates are gathered by
// then: the server answers with all of its own, and learns the browser's from
// its connectivity checks, so nothing waits for gathering to finish. Later
// candidates go in PATCH requests where the server takes them.
import type { PeerLink } from './peer-link.js';

/** A refused POST: the contract's error code (bad_sdp, not_live, no_common_codec, …) and, for not_live, when to try again. */
export class HttpSessionError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

export class HttpSession {
  /** The session's resource (the POST's Location), once answered. */
  private location: string | null = null;
  private trickle = true;
  private readonly pending: string[] = [];
  private closed = false;
  private off: (() => void) | null = null;

  constructor(
    private readonly link: PeerLink,
    /** The WHIP or WHEP endpoint, e.g. /api/whep/123456. */
    private readonly endpoint: string,
    /** The Bearer token: a room token (WHIP), a password or an SFU ticket (WHEP). */
    private readonly token: string | null,
  ) {}

  /** Offer, POST, take the answer (resolved with it). Rejects with an HttpSessionError when the server refuses. */
  start(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.off = this.link.on('signal', (signal) => {
        if (signal.type === 'offer') this.post(signal.sdp).then(resolve, reject);
        else if (signal.type === 'candidate') this.candidate(signal.candidate.candidate, signal.candidate.sdpMid ?? '0');
      });
      void this.link.sendOffer();
    });
  }

  /** End the session on the server (DELETE) and close the link. */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.off?.();
    if (this.location) void fetch(this.location, { method: 'DELETE', headers: this.headers() }).catch(() => undefined);
    this.link.close();
  }

  private async post(offer: string): Promise<string> {
    const res = await fetch(this.endpoint, { method: 'POST', headers: { ...this.headers(), 'Content-Type': 'application/sdp' }, body: offer });
    if (res.status !== 201) throw await refusal(res);
    this.location = new URL(res.headers.get('Location') ?? this.endpoint, location.href).href;
    const answer = await res.text();
    await this.link.acceptAnswer(answer);
    this.flush();
    return answer;
  }

  private candidate(candidate: string, mid: string): void {
    if (!this.trickle || this.closed) return;
    this.pending.push(`a=mid:${mid}\r\na=${candidate}\r\n`);
    if (this.location) this.flush();
  }

  /** Candidates gathered so far, in one PATCH; a server that takes none (405, 422) is not asked again. */
  private flush(): void {
    if (!this.location || !this.pending.length || this.closed) return;
    const body = this.pending.splice(0).join('');
    void fetch(this.location, { method: 'PATCH', headers: { ...this.headers(), 'Content-Type': 'application/trickle-ice-sdpfrag' }, body })
      .then((res) => {
        if (res.status === 405 || res.status === 422) this.trickle = false;
      })
      .catch(() => undefined);
  }

  private headers(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }
}

async function refusal(res: Response): Promise<HttpSessionError> {
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  const retryAfter = Number(res.headers.get('Retry-After'));
  return new HttpSessionError(
    res.status,
    body?.error?.code ?? `http_${res.status}`,
    body?.error?.message ?? res.statusText,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null,
  );
}
