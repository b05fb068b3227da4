import { connect, createServer, type Socket } from "node:net";
import { once } from "node:events";

type NameMatch = (clientName: string) => boolean;

/**
 * A TCP relay in front of a redis-server that makes, every time, an ordering that otherwise
 * happens only by chance under load. Two controls:
 * - connections: after a Redis restart every client reconnects at its own moment; holding
 *   connections lets a test decide which of a process's connections get through first (by the
 *   name each sends with CLIENT SETNAME);
 * - replies: put a replica's event reader behind the relay and hold replies, and that replica
 *   lags the event stream for as long as the test wants.
 */
export interface RedisRelay {
  url: string;
  /** From now on, new connections whose client name matches wait at the relay instead of reaching Redis. */
  holdConnections(match: NameMatch): void;
  /** Lets the waiting connections that match (default: all) through, and stops holding such names. */
  releaseConnections(match?: NameMatch): void;
  /** Resolves with its name once a connection whose name matches is waiting at the relay. */
  connectionHeld(match: NameMatch): Promise<string>;
  /** Holds every reply from Redis from now on, on every connection (requests still go through). */
  holdReplies(): void;
  /** Delivers the held replies, in order, and stops holding. */
  releaseReplies(): void;
  close(): Promise<void>;
}

/** A connection let through to Redis. */
interface Link {
  client: Socket;
  heldReplies: Buffer[];
}

/** A connection waiting at the relay, with what its client sent meanwhile. */
interface Waiting {
  client: Socket;
  name: string;
  buffered: Buffer[];
}

/**
 * The arguments of the first RESP command in `data`, or undefined while it is incomplete.
 * node-redis sends `CLIENT SETNAME <name>` first when the connection has a name.
 */
function firstCommand(data: Buffer): string[] | undefined {
  const text = data.toString("latin1");
  const header = /^\*(\d+)\r\n/.exec(text);
  if (!header) return text.length > 0 && !text.startsWith("*") ? [] : undefined;
  const args: string[] = [];
  let at = header[0].length;
  for (let i = 0; i < Number(header[1]); i++) {
    const bulk = /^\$(\d+)\r\n/.exec(text.slice(at));
    if (!bulk) return undefined;
    const start = at + bulk[0].length;
    const end = start + Number(bulk[1]);
    if (text.length < end + 2) return undefined;
    args.push(text.slice(start, end));
    at = end + 2;
  }
  return args;
}

/** The name a connection gives itself with its first command, or "" when it gives none. */
function clientName(command: string[]): string {
  const isSetName = command[0]?.toUpperCase() === "CLIENT" && command[1]?.toUpperCase() === "SETNAME";
  return isSetName ? (command[2] ?? "") : "";
}

/** Starts a relay on a free loopback port in front of the redis-server on `redisPort`. */
export async function startRedisRelay(redisPort: number): Promise<RedisRelay> {
  let holding: NameMatch = () => false;
  let holdingReplies = false;
  const waiting = new Set<Waiting>();
  const watchers = new Set<{ match: NameMatch; resolve: (name: string) => void }>();
  const links = new Set<Link>();
  // Every socket the relay has open, both sides, so that close() leaves nothing behind.
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };

  /** Connects `client` (paused, its listeners for the wait removed) to Redis, sending what it sent so far first. */
  const letThrough = (client: Socket, buffered: Buffer[]) => {
    const upstream = connect(redisPort, "127.0.0.1");
    track(upstream);
    const link: Link = { client, heldReplies: [] };
    links.add(link);
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    // A socket still connecting queues writes, so order is kept without waiting for "connect".
    for (const chunk of buffered) upstream.write(chunk);
    client.on("data", (chunk: Buffer) => upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => (holdingReplies ? link.heldReplies.push(chunk) : client.write(chunk)));
    for (const socket of [client, upstream]) socket.on("error", end).on("close", end);
    client.resume();
  };

  const wait = (client: Socket, name: string, buffered: Buffer[]) => {
    const entry: Waiting = { client, name, buffered };
    waiting.add(entry);
    client.on("data", (more: Buffer) => entry.buffered.push(more));
    client.once("close", () => waiting.delete(entry));
    client.resume();
    for (const watcher of watchers) {
      if (!watcher.match(name)) continue;
      watchers.delete(watcher);
      watcher.resolve(name);
    }
  };

  const server = createServer((client) => {
    track(client);
    client.on("error", () => client.destroy());
    // Nothing reaches Redis until the first command tells who is connecting.
    const buffered: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      buffered.push(chunk);
      const command = firstCommand(Buffer.concat(buffered));
      if (command === undefined) return;
      client.off("data", onData);
      client.pause();
      const name = clientName(command);
      if (holding(name)) wait(client, name, buffered);
      else letThrough(client, buffered);
    };
    client.on("data", onData);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("relay has no port");

  return {
    url: `redis://127.0.0.1:${address.port}`,
    holdConnections(match) {
      holding = match;
    },
    releaseConnections(match = () => true) {
      const before = holding;
      holding = (name) => before(name) && !match(name);
      for (const entry of [...waiting]) {
        if (!match(entry.name)) continue;
        waiting.delete(entry);
        entry.client.removeAllListeners("data");
        entry.client.pause();
        letThrough(entry.client, entry.buffered);
      }
    },
    connectionHeld(match) {
      const already = [...waiting].find((entry) => match(entry.name));
      if (already) return Promise.resolve(already.name);
      return new Promise((resolve) => watchers.add({ match, resolve }));
    },
    holdReplies() {
      holdingReplies = true;
    },
    releaseReplies() {
      holdingReplies = false;
      for (const link of links) for (const chunk of link.heldReplies.splice(0)) link.client.write(chunk);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
