// Edits of SDP text around libdatachannel: sections the SFU does not take are
// rejected in the offer it is given (so the answer rejects them too, instead of
// reciprocating them with codecs and feedback the SFU never chose); host
// candidates carry ANNOUNCED_IP for a server behind NAT; and a client's
// trickled candidates (PATCH, application/trickle-ice-sdpfrag) are read.

function lines(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((l) => l !== '');
}

/** The offer with every media section whose mid is not in `keep` rejected (port 0) and taken out of the BUNDLE group. */
export function rejectSections(sdp: string, keep: ReadonlySet<string>): string {
  const all = lines(sdp);
  // Each section's mid, found before any line of it is rewritten.
  const mids: string[] = [];
  for (const l of all) {
    if (l.startsWith('m=')) mids.push('');
    else if (l.startsWith('a=mid:') && mids.length) mids[mids.length - 1] = l.slice(6);
  }
  let section = -1;
  const out = all.map((l) => {
    if (l.startsWith('m=')) {
      section++;
      if (keep.has(mids[section]!)) return l;
      const parts = l.split(' ');
      parts[1] = '0';
      return parts.join(' ');
    }
    if (l.startsWith('a=group:BUNDLE ')) return ['a=group:BUNDLE', ...l.slice(15).split(' ').filter((m) => keep.has(m))].join(' ');
    if (l === 'a=bundle-only' && !keep.has(mids[section] ?? '')) return null;
    return l;
  });
  return out.filter((l): l is string => l !== null).join('\r\n') + '\r\n';
}

const CANDIDATE = /^a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)(.*)$/;

/**
 * Host candidates with `ip` as their address (one per port and transport), and
 * the c= lines with it too. Other candidate types stay as they are.
 */
export function announceAddress(sdp: string, ip: string): string {
  const family = ip.includes(':') ? 'IP6' : 'IP4';
  const seen = new Set<string>();
  const out: string[] = [];
  for (const l of lines(sdp)) {
    if (l.startsWith('c=IN ')) {
      out.push(`c=IN ${family} ${ip}`);
      continue;
    }
    const m = CANDIDATE.exec(l);
    if (m && m[7] === 'host') {
      const key = `${m[3]!.toLowerCase()} ${m[6]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(`a=candidate:${m[1]} ${m[2]} ${m[3]} ${m[4]} ${ip} ${m[6]} typ host${m[8]}`);
      continue;
    }
    out.push(l);
  }
  return out.join('\r\n') + '\r\n';
}

/**
 * The offer without its candidates (and end-of-candidates), and the candidates
 * with the mid of the section they were in. See SfuPeer.answer for why.
 */
export function splitCandidates(sdp: string): { sdp: string; candidates: { candidate: string; mid: string }[] } {
  const kept: string[] = [];
  const candidates: { candidate: string; mid: string }[] = [];
  let mid = '';
  let pending: string[] = [];
  for (const l of lines(sdp)) {
    if (l.startsWith('m=')) {
      candidates.push(...pending.map((candidate) => ({ candidate, mid })));
      pending = [];
      mid = '';
    }
    if (l.startsWith('a=mid:')) mid = l.slice(6);
    if (l.startsWith('a=candidate:')) pending.push(l.slice(2));
    else if (l !== 'a=end-of-candidates') kept.push(l);
  }
  candidates.push(...pending.map((candidate) => ({ candidate, mid })));
  return { sdp: kept.join('\r\n') + '\r\n', candidates };
}

export interface TrickleFragment {
  iceUfrag?: string;
  icePwd?: string;
  candidates: { candidate: string; mid: string }[];
  endOfCandidates: boolean;
}

/** A trickle-ice-sdpfrag body (RFC 8840), or an error message saying what is wrong with it. */
export function parseTrickleFragment(text: string): { ok: true; fragment: TrickleFragment } | { ok: false; message: string } {
  const fragment: TrickleFragment = { candidates: [], endOfCandidates: false };
  let mid: string | null = null;
  for (const l of lines(text)) {
    if (!/^[a-z]=/.test(l)) return { ok: false, message: `not an SDP fragment line: "${l.slice(0, 60)}"` };
    if (l.startsWith('m=')) mid = null;
    else if (l.startsWith('a=mid:')) mid = l.slice(6);
    else if (l.startsWith('a=ice-ufrag:')) fragment.iceUfrag = l.slice(12);
    else if (l.startsWith('a=ice-pwd:')) fragment.icePwd = l.slice(10);
    else if (l === 'a=end-of-candidates') fragment.endOfCandidates = true;
    else if (l.startsWith('a=candidate:')) {
      if (!CANDIDATE.test(l)) return { ok: false, message: `malformed candidate "${l.slice(0, 80)}"` };
      if (mid === null) return { ok: false, message: 'a candidate comes before the a=mid of its media section' };
      fragment.candidates.push({ candidate: l.slice(2), mid });
    }
  }
  return { ok: true, fragment };
}
