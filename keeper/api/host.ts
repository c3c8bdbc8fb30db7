/**
 * DNS rebinding defence: a web page on evil.example whose name is re-pointed at 127.0.0.1 makes the browser send
 * requests to the keeper's API with `Host: evil.example`. Every route (reads included: they show the node's peers,
 * tasks and transfers) therefore answers only requests whose Host names this server: the configured listen host
 * on the listening port, localhost / 127.0.0.1 / [::1] on the listening port, or a name the operator configured
 * (`api.allowedHosts`, any port: it may sit behind a reverse proxy). A server listening on 0.0.0.0 or :: is
 * reached under names only its operator knows: they belong in `api.allowedHosts`.
 */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];

/** Lower-cased host name (brackets of an IPv6 literal removed) and port of a Host header, or undefined. */
export function parseHost(header: string | undefined): { name: string; port: number | undefined } | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(header.trim());
  if (m === null) return undefined;
  const name = (m[1] ?? m[2]!).toLowerCase().replace(/\.$/, "");
  return { name, port: m[3] === undefined ? undefined : Number(m[3]) };
}

export interface HostPolicy {
  /** The host the server listens on (api.host). */
  listenHost: string;
  /** The port it listens on (resolved, never 0). */
  port: () => number;
  /** Extra names accepted on any port (api.allowedHosts). */
  allowedHosts?: readonly string[];
}

export function hostAllowed(header: string | undefined, policy: HostPolicy): boolean {
  const host = parseHost(header);
  if (host === undefined) return false;
  if ((policy.allowedHosts ?? []).some((h) => h.toLowerCase() === host.name)) return true;
  const listen = policy.listenHost.toLowerCase().replace(/^\[|\]$/g, "");
  const wildcard = listen === "0.0.0.0" || listen === "::";
  const names = wildcard ? LOOPBACK_NAMES : [listen, ...LOOPBACK_NAMES];
  return names.includes(host.name) && (host.port ?? 80) === policy.port();
}
