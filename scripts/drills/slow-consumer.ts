/**
 * The drill's `slow` scenario: one client joins a busy room through nginx, then stops reading
 * its TCP socket (while still answering pings, so the heartbeat never gives it away). The memory
 * of the replica it landed on is sampled from its /metrics every 250 ms, before and after.
 */
import type { E2EStack } from "@clusterkit/test-kit/stack";
import { connectRawSocketIo } from "@clusterkit/test-kit";

interface Sample {
  at: number;
  rssBytes: number;
  heapBytes: number;
  /** chat_slow_consumers_total of that replica. */
  cutOff: number;
}

async function sample(url: string): Promise<Sample> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return {
    at: Date.now(),
    rssBytes: value("process_resident_memory_bytes"),
    heapBytes: value("nodejs_heap_size_used_bytes"),
    cutOff: value("chat_slow_consumers_total"),
  };
}

const mb = (bytes: number | undefined) => (bytes === undefined ? -1 : Math.round((bytes / 2 ** 20) * 10) / 10);

export interface SlowProbe {
  /** The replica the slow client landed on. */
  replica: string;
  /** Stops reading now. */
  stall(): void;
  /** Memory before the stall, at its peak after, at the end; whether and when the client was cut off. */
  report(): Record<string, string | number | boolean>;
  close(): void;
}

export async function startSlowProbe(stack: E2EStack, room: string): Promise<SlowProbe> {
  const raw = await connectRawSocketIo(stack.url);
  const who = (await raw.request("chat:identify", { nickname: "drill-slow" })) as { ok?: true; server?: string };
  const joined = (await raw.request("chat:join", { room })) as { ok?: true };
  const chat = stack.chats.find((c) => c.serverId === who.server);
  if (!who.ok || !joined.ok || !chat) throw new Error(`the slow client could not join ${room}: ${JSON.stringify(who)}`);
  const samples: Sample[] = [];
  const timer = setInterval(() => void sample(chat.url).then((s) => samples.push(s), () => undefined), 250);
  let stalledAt = Number.POSITIVE_INFINITY;
  return {
    replica: chat.serverId,
    stall() {
      stalledAt = Date.now();
      raw.stopReading({ answerPingsEveryMs: 1_000 });
    },
    report() {
      const before = samples.filter((s) => s.at < stalledAt).at(-1);
      const after = samples.filter((s) => s.at >= stalledAt);
      const cut = after.find((s) => s.cutOff >= 1);
      const peak = (key: "rssBytes" | "heapBytes") => Math.max(0, ...after.map((s) => s[key]));
      return {
        slowReplica: chat.serverId,
        slowCutOff: cut !== undefined,
        slowCutAfterMs: cut ? cut.at - stalledAt : -1,
        heapBeforeMB: mb(before?.heapBytes),
        heapPeakMB: mb(peak("heapBytes")),
        heapEndMB: mb(samples.at(-1)?.heapBytes),
        rssBeforeMB: mb(before?.rssBytes),
        rssPeakMB: mb(peak("rssBytes")),
        rssEndMB: mb(samples.at(-1)?.rssBytes),
      };
    },
    close() {
      clearInterval(timer);
      raw.close();
    },
  };
}
