// One worker thread of the gRPC unary load generator: its own event loop and its own channels
// (grpc-js state is per thread), built from the handout's proto with proto-loader. The very same
// code calls the peer and our replicas, over the same number of connections; only the address
// list differs.
import { parentPort, workerData } from "node:worker_threads";
import { call, handoutClient } from "../lib/handout-client.js";
import { closedLoopPart, type ClosedLoopPart } from "../lib/load.js";

export interface GrpcLoadSetup {
  worker: number;
  repo: string;
  /** The side's servers. */
  addresses: string[];
  /**
   * Connections this thread opens, each its own channel, to addresses[k % addresses.length]; calls
   * take them in turn (round robin). Equal on both sides, so a side with one server is not
   * called over fewer connections (less per-connection batching) than a side with two.
   */
  connections: number;
  /** Ids 1..users exist on the side. */
  users: number;
  /** Makes CreateUser emails unique per run. */
  tag: string;
}

export type ToWorker =
  | { type: "run"; rpc: "GetUser" | "CreateUser"; label: string; concurrency: number; seconds: number; warmupSeconds: number; startAt: number }
  | { type: "close" };

export type FromWorker = { type: "ready"; error?: string } | { type: "ran"; part: ClosedLoopPart } | { type: "closed" };

const setup = workerData as GrpcLoadSetup;
const port = parentPort!;
// A local subchannel pool per channel: two channels to one address are two connections.
const clients = Array.from({ length: setup.connections }, (_, k) =>
  handoutClient(setup.repo, [setup.addresses[k % setup.addresses.length]!], { "grpc.use_local_subchannel_pool": 1 }),
);
let turn = 0;
const next = () => clients[turn++ % clients.length]!;
let created = 0;

async function run(msg: Extract<ToWorker, { type: "run" }>): Promise<ClosedLoopPart> {
  // The label becomes part of an email address: only characters every validator accepts there.
  const prefix = `${msg.label.replace(/[^\w.-]/g, "-")}-w${setup.worker}`;
  // The same id sequence as a single-threaded generator, offset per worker so threads spread over the users.
  const get = (i: number) => call((cb) => next().getUser({ id: 1 + (((i + setup.worker * 104_729) * 7919) % setup.users) }, cb));
  const create = () => {
    const n = created++;
    return call((cb) => next().createUser({ name: `${prefix}-${n}`, email: `${prefix}-${n}.${setup.tag}@bench.example` }, cb));
  };
  return closedLoopPart(msg.rpc === "GetUser" ? get : create, msg);
}

port.on("message", (msg: ToWorker) => {
  void (async () => {
    if (msg.type === "run") {
      const part = await run(msg);
      port.postMessage({ type: "ran", part } satisfies FromWorker, [part.latencies.buffer]);
    } else if (msg.type === "close") {
      for (const client of clients) client.close();
      port.postMessage({ type: "closed" } satisfies FromWorker);
    }
  })();
});

// Connected before the first cell, so no cell's warm-up includes the handshakes.
Promise.all(clients.map((client) => new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve()))))).then(
  () => port.postMessage({ type: "ready" } satisfies FromWorker),
  (error: Error) => port.postMessage({ type: "ready", error: error.message } satisfies FromWorker),
);
