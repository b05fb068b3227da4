import type { IncomingMessage } from "node:http";

/** Express's compiled `trust proxy` setting: is `address`, `hop` steps from this server, a proxy we believe? */
export type ProxyTrust = (address: string, hop: number) => boolean;

/**
 * The client's address, computed as express computes `req.ip`: start at the peer and step left
 * through X-Forwarded-For while the address in hand is a trusted proxy (CHAT_TRUST_PROXY). The
 * first untrusted address is the client. Engine.IO's handshake requests are not express requests,
 * so the socket limits call this with the same trust, and key exactly as the API's rate limit does.
 */
export function clientAddress(req: IncomingMessage, trust: ProxyTrust): string {
  const header = req.headers["x-forwarded-for"];
  const forwarded = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .reverse();
  const chain = [req.socket.remoteAddress ?? "unknown", ...forwarded];
  for (let hop = 0; hop < chain.length - 1; hop++) {
    if (!trust(chain[hop]!, hop)) return chain[hop]!;
  }
  return chain[chain.length - 1]!;
}
