// SDP repairs for differences between browser engines. Applied to every
// description this app sends and to every one it receives, so each side
// copes with the other's quirks whatever version the other side runs. And the
// broadcaster's one edit of an answer: the link's bandwidth cap.

/**
 * Drop codec attribute lines that belong to no codec of their media section.
 *
 * Firefox (ESR 153), as the offerer, after RTCRtpTransceiver.setCodecPreferences
 * removed codecs, leaves `a=rtcp-fb:<pt>` (and may leave `a=fmtp:<pt>`) lines
 * for the payload types it took off the m= line. Chromium rejects such an offer
 * in setRemoteDescription ("Failed to parse codecs correctly"). A line for a
 * payload type that the m= line does not list has no meaning, so removing it
 * changes nothing for a browser that tolerates it.
 *
 * Also drops an rtx (or other `apt=`-linked) payload type whose `apt` names a
 * codec that is not in the section any more: a retransmission format for a
 * codec that is gone is another thing a strict parser refuses.
 *
 * Keeps `a=rtcp-fb:*` (it applies to all codecs), the line endings of the
 * input, and everything it does not understand.
 */
export function sanitizeSdp(sdp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const trailing = lines.at(-1) === '' ? lines.pop() : undefined;
  const out: string[] = [];
  let section: string[] = [];
  const flush = () => {
    out.push(...sanitizeSection(section));
    section = [];
  };
  for (const line of lines) {
    if (line.startsWith('m=')) flush();
    section.push(line);
  }
  flush();
  if (trailing !== undefined) out.push(trailing);
  return out.join(eol);
}

const CODEC_LINE = /^a=(rtpmap|rtcp-fb|fmtp):(\d+)[ \t]/;

function sanitizeSection(lines: string[]): string[] {
  const mLine = lines[0];
  const m = mLine?.startsWith('m=') ? /^m=\S+ \S+ \S+((?: \S+)*)$/.exec(mLine) : null;
  // The session part (before the first m=) and non-RTP sections are left alone.
  if (!m || !/RTP\//.test(mLine!)) return lines;
  const listed = m[1]!.trim().split(/\s+/).filter((pt) => /^\d+$/.test(pt));
  const keep = new Set(listed);

  // A payload type whose apt= points at a codec that is not listed goes too.
  for (const line of lines) {
    const apt = /^a=fmtp:(\d+)[ \t].*\bapt=(\d+)/.exec(line);
    if (apt && keep.has(apt[1]!) && !keep.has(apt[2]!)) keep.delete(apt[1]!);
  }

  const result: string[] = [];
  for (const line of lines) {
    if (line === mLine) {
      const [head] = /^m=\S+ \S+ \S+/.exec(line)!;
      const kept = listed.filter((pt) => keep.has(pt));
      // Never leave an m= line with no format: keep it as it was then.
      result.push(kept.length ? `${head} ${kept.join(' ')}` : line);
      continue;
    }
    const codec = CODEC_LINE.exec(line);
    if (codec && !keep.has(codec[2]!)) continue;
    result.push(line);
  }
  return result;
}

/**
 * Whether an answer turned the video down: the video m= section has port 0
 * (rejected) or is inactive. Firefox does this silently when the offer's video
 * codecs are all ones it cannot decode (H.264 alone: its OpenH264 plugin is a
 * download that a fresh or offline profile does not have).
 */
export function videoRejected(sdp: string): boolean {
  const sections = sdp.split(/\r?\n(?=m=)/).slice(1);
  const video = sections.filter((s) => s.startsWith('m=video'));
  if (!video.length) return false;
  return video.every((s) => /^m=video 0 /.test(s) || /^a=inactive\s*$/m.test(s));
}

/** The session id of an SDP's o= line: the same for every offer of one RTCPeerConnection. */
export function sdpSessionId(sdp: string): string | null {
  return /^o=\S+ (\d+) /m.exec(sdp)?.[1] ?? null;
}

/**
 * The description with every video section's bandwidth set to `kbps`: one
 * `b=AS` line in place of any `b=` lines there. Chromium takes a remote
 * description's video b=AS as the transport's max bitrate: the most its
 * congestion control sends on the whole connection, padding and probes
 * included (measured: availableOutgoingBitrate stays at it).
 */
export function withVideoBandwidth(sdp: string, kbps: number): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const sections = sdp.split(/\r?\n(?=m=)/);
  return sections
    .map((section) => {
      if (!section.startsWith('m=video')) return section;
      const lines = section.split(/\r?\n/).filter((l) => !l.startsWith('b='));
      // RFC 8866 order: m=, i=, c=, then b=.
      let at = 1;
      while (at < lines.length && /^[ic]=/.test(lines[at]!)) at++;
      lines.splice(at, 0, `b=AS:${Math.round(kbps)}`);
      return lines.join(eol);
    })
    .join(eol);
}
