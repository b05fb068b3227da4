import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";

/**
 * A TCP relay in front of a redis-server whose replies can be held back: put a replica's event
 * reader behind it and pause it, and that replica lags the event stream for as long as the test
 * wants, which otherwise happens only by chance under load.
 */
export interface PausableRelay {
  url: string;
  /** Holds every reply from Redis from now on (requests still go through). */
  pause(): void;
  /** Delivers the held replies, in order, and stops holding. */
  resume(): void;
  close(): Promise<void>;
}

export async function startPausableRelay(redisPort: number): Promise<PausableRelay> {
  let paused = false;
  const links = new Set<{ client: Socket; upstream: Socket; held: Buffer[] }>();
  const server = createServer((client) => {
    const upstream = connect(redisPort, "127.0.0.1");
    const link = { client, upstream, held: [] as Buffer[] };
    links.add(link);
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => (paused ? link.held.push(chunk) : client.write(chunk)));
    for (const socket of [client, upstream]) socket.on("error", end).on("close", end);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("relay has no port");
  return {
    url: `redis://127.0.0.1:${address.port}`,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const link of links) for (const chunk of link.held.splice(0)) link.client.write(chunk);
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      server.close();
      await once(server, "close");
    },
  };
}
