import { connect, createServer, type Socket } from "node:net";
import { once } from "node:events";

type NameMatch = (clientName: string) => boolean;

/**
 * A TCP relay in front of a redis-server that can hold chosen connections back. After a Redis
 * restart every client reconnects at its own moment; the gate lets a test decide which of a
 * process's connections get through first (by the name each sends with CLIENT SETNAME), so an
 * ordering that happens by chance under load happens every time in the test.
 */
export interface RedisGate {
  url: string;
  /** From now on, connections whose client name matches wait at the gate instead of reaching Redis. */
  hold(match: NameMatch): void;
  /** Lets the waiting connections that match (default: all) through, and stops holding such names. */
  release(match?: NameMatch): void;
  /** Resolves once a connection whose name matches is waiting at the gate. */
  waiting(match: NameMatch): Promise<string>;
  close(): Promise<void>;
}

interface Held {
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

function pipe(client: Socket, redisPort: number, buffered: Buffer[]): void {
  const upstream = connect(redisPort, "127.0.0.1");
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  upstream.once("connect", () => {
    for (const chunk of buffered) upstream.write(chunk);
    client.pipe(upstream).pipe(client);
    client.resume();
  });
  upstream.on("error", end).on("close", end);
  client.on("error", end).on("close", end);
}

/** Starts a gate on a free loopback port in front of the redis-server on `redisPort`. */
export async function startRedisGate(redisPort: number): Promise<RedisGate> {
  let holding: NameMatch = () => false;
  const held = new Set<Held>();
  const watchers = new Set<{ match: NameMatch; resolve: (name: string) => void }>();
  const open = new Set<Socket>();

  const server = createServer((client) => {
    open.add(client);
    client.once("close", () => open.delete(client));
    const buffered: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      buffered.push(chunk);
      const command = firstCommand(Buffer.concat(buffered));
      if (command === undefined) return;
      const name = command[0]?.toUpperCase() === "CLIENT" && command[1]?.toUpperCase() === "SETNAME" ? (command[2] ?? "") : "";
      client.off("data", onData);
      client.pause();
      if (!holding(name)) return pipe(client, redisPort, buffered);
      const entry: Held = { client, name, buffered };
      held.add(entry);
      client.resume();
      client.on("data", (more: Buffer) => entry.buffered.push(more));
      client.once("close", () => held.delete(entry));
      for (const watcher of watchers) {
        if (!watcher.match(name)) continue;
        watchers.delete(watcher);
        watcher.resolve(name);
      }
    };
    client.on("data", onData);
    client.on("error", () => client.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("gate has no port");

  return {
    url: `redis://127.0.0.1:${address.port}`,
    hold(match) {
      holding = match;
    },
    release(match = () => true) {
      const before = holding;
      holding = (name) => before(name) && !match(name);
      for (const entry of [...held]) {
        if (!match(entry.name)) continue;
        held.delete(entry);
        entry.client.removeAllListeners("data");
        entry.client.pause();
        pipe(entry.client, redisPort, entry.buffered);
      }
    },
    waiting(match) {
      const already = [...held].find((entry) => match(entry.name));
      if (already) return Promise.resolve(already.name);
      return new Promise((resolve) => watchers.add({ match, resolve }));
    },
    async close() {
      for (const socket of open) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
