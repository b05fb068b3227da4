// One worker thread of SubscribeToUpdates subscribers: its own event loop decodes its share of the
// streams, so a thousand subscribers are not all decoded, one after the other, on the loop that
// also sends the creates (the last subscriber of each event would wait for every other one).
import { parentPort, workerData } from "node:worker_threads";
import { SubscriberGroup, type GroupTally } from "../lib/subscriber-group.js";

export interface SubscribersSetup {
  addresses: string[];
  count: number;
  /** This thread's first subscriber goes to addresses[offset % n], so threads together spread evenly. */
  offset: number;
}

export type ToSubscribers = { type: "begin"; tag: string } | { type: "settle"; events: number; timeoutMs: number } | { type: "close" };

export type FromSubscribers =
  | { type: "ready"; error?: string }
  | { type: "begun" }
  | { type: "settled"; tally: GroupTally }
  | { type: "closed" };

const setup = workerData as SubscribersSetup;
const port = parentPort!;
const opening = SubscriberGroup.open(setup.addresses, setup.count, setup.offset);

port.on("message", (msg: ToSubscribers) => {
  void (async () => {
    const group = await opening;
    if (msg.type === "begin") {
      group.begin(msg.tag);
      port.postMessage({ type: "begun" } satisfies FromSubscribers);
    } else if (msg.type === "settle") {
      const tally = await group.settle(msg.events, msg.timeoutMs);
      port.postMessage({ type: "settled", tally } satisfies FromSubscribers, [tally.latencies.buffer]);
    } else {
      group.close();
      port.postMessage({ type: "closed" } satisfies FromSubscribers);
    }
  })();
});

opening.then(
  () => port.postMessage({ type: "ready" } satisfies FromSubscribers),
  (error: Error) => port.postMessage({ type: "ready", error: error.message } satisfies FromSubscribers),
);
