import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

/**
 * Turns what a person types (`127.0.0.1:50051`, `users:50051`, `a:1,b:2`, or any explicit
 * gRPC target such as `dns:///users:50051`) into one grpc-js channel target.
 *
 * A comma list becomes an `ipv4:`/`ipv6:` address list so that the `round_robin` policy spreads
 * calls over every entry; host names in it are resolved once, here, because grpc-js resolves a
 * `dns:` target to one name only.
 */
export async function resolveTarget(target: string): Promise<string> {
  const entries = target
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new Error("empty gRPC target");
  if (entries.length === 1) return entries[0]!;
  const addresses: string[] = [];
  // Check every entry before resolving any, so a typo fails fast with a clear message.
  const parsed = entries.map(splitHostPort);
  for (const { host, port } of parsed) {
    if (isIP(host)) {
      addresses.push(formatAddress(host, port));
      continue;
    }
    const resolved = await lookup(host, { all: true });
    for (const { address } of resolved) addresses.push(formatAddress(address, port));
  }
  const family = addresses.every((a) => !a.startsWith("[")) ? "ipv4" : "ipv6";
  return `${family}:${addresses.join(",")}`;
}

function splitHostPort(entry: string): { host: string; port: string } {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2]! };
  const index = entry.lastIndexOf(":");
  if (index <= 0) throw new Error(`gRPC target '${entry}' needs host:port`);
  return { host: entry.slice(0, index), port: entry.slice(index + 1) };
}

function formatAddress(host: string, port: string): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
