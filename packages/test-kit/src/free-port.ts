import { once } from "node:events";
import { createServer } from "node:net";

/**
 * A loopback port that was free a moment ago, for a child process that must be told its port up
 * front (redis-server, nginx, a replica run as its own process). In-process servers listen on
 * port 0 instead, which has no window for another process to take the port.
 */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no free loopback port");
  return address.port;
}
