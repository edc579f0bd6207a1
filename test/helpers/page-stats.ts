// What a page's live peer connection carries, from its real getStats: the
// selected ICE candidate pair and the video codec on the wire. The page must
// record its connections in window.__pcs (instrumentPeerConnections in
// test/e2e/app.ts, or bench/latency-probes.ts).
import type { Page } from 'playwright-core';

export interface Candidate {
  type: string;
  protocol: string;
  relayProtocol?: string;
  address: string;
}

/** The selected pair of the page's live peer connection, and frames decoded so far. */
export async function selectedPair(page: Page): Promise<{ local: Candidate; remote: Candidate; framesDecoded: number } | null> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((p) => p.connectionState === 'connected').at(-1);
    if (!pc) return null;
    const stats = new Map<string, Record<string, unknown>>();
    (await pc.getStats()).forEach((s: Record<string, unknown>) => stats.set(String(s.id), s));
    const transport = [...stats.values()].find((s) => s.type === 'transport' && s.selectedCandidatePairId);
    const pair = transport && stats.get(String(transport.selectedCandidatePairId));
    if (!pair) return null;
    const candidate = (id: unknown) => {
      const c = stats.get(String(id))!;
      return {
        type: String(c.candidateType),
        protocol: String(c.protocol),
        ...(c.relayProtocol ? { relayProtocol: String(c.relayProtocol) } : {}),
        address: String(c.address),
      };
    };
    let framesDecoded = 0;
    for (const s of stats.values()) if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded += Number(s.framesDecoded ?? 0);
    return { local: candidate(pair.localCandidateId), remote: candidate(pair.remoteCandidateId), framesDecoded };
  });
}

/**
 * The video codec (AV1, VP9, VP8, H264) a page's newest connected peer connection carries
 * frames with, from getStats: outbound on a broadcaster, inbound on a viewer.
 */
export async function wireCodec(page: Page, direction: 'inbound' | 'outbound'): Promise<string | null> {
  return page.evaluate(async (dir) => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((pc) => pc.connectionState === 'connected');
    for (const pc of pcs.reverse()) {
      const stats = new Map<string, Record<string, unknown>>();
      (await pc.getStats()).forEach((s: Record<string, unknown> & { id: string }) => stats.set(s.id, s));
      for (const s of stats.values()) {
        if (s.type !== `${dir}-rtp` || s.kind !== 'video' || !s.codecId) continue;
        if (!Number(dir === 'inbound' ? s.framesDecoded : s.framesEncoded)) continue;
        const mime = stats.get(String(s.codecId))?.mimeType;
        if (typeof mime === 'string') return mime.replace(/^video\//i, '').toUpperCase();
      }
    }
    return null;
  }, direction);
}
