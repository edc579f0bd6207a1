// The WebSocket Origin check. Browsers always send Origin on a WebSocket
// upgrade, so a page on another site cannot open /ws with the user's network
// position unless it is allowed here. Clients that send no Origin at all are
// not browsers (tests, command-line tools, the load bench): they could forge
// any header anyway, so refusing them would protect nothing; they stay allowed.
//
// Default (no ALLOWED_ORIGINS): the Origin's host:port must equal the Host
// header, i.e. the page was served by this server. The scheme is not compared,
// because behind a TLS-terminating proxy the page is https:// while the proxy
// talks http:// to us. "*" in the list allows every origin.
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.length > 0) return allowed.includes('*') || allowed.includes(origin);
  if (!host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
