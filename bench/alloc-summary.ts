// `node --import tsx bench/alloc-summary.ts [--top 25] [--title "..."] [--per N --per-what "message"] a.heapprofile [...] > summary.md`
// Summarizes the allocation samples BENCH_ALLOC_PROFILE_DIR writes (servers/sample-allocations.mjs,
// one file per server process, short-lived objects included) as Markdown tables: bytes allocated
// by area (library, our source folder, Node internals), the top allocating functions, and our
// functions with what they and their callees allocate. Several files (the replicas of one side)
// are added together. With --per N the tables also give bytes per unit (e.g. per message sent).
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { add, areaOf, isLoading, label, type CallFrame } from "./profile-summary.js";

interface SamplingNode {
  callFrame: CallFrame;
  /** Bytes the samples taken here stand for (V8 scales each sample by the sampling interval). */
  selfSize: number;
  children: SamplingNode[];
}
export interface AllocationProfile {
  head: SamplingNode;
  durationMs?: number;
}

export interface AllocationTotals {
  bytes: number;
  /** Start-up (module loading) allocation, left out of the tables: the load phase is what is measured. */
  loadingBytes: number;
  self: Map<string, number>;
  total: Map<string, number>;
  areas: Map<string, number>;
}


/** Adds up every node's bytes by function and area; each function counted once per stack for totals. */
export function tallyAllocations(profiles: AllocationProfile[]): AllocationTotals {
  const totals: AllocationTotals = { bytes: 0, loadingBytes: 0, self: new Map(), total: new Map(), areas: new Map() };
  const walk = (node: SamplingNode, stack: CallFrame[], loading: boolean) => {
    const here = node.callFrame.functionName === "(root)" ? stack : [...stack, node.callFrame];
    const inLoading = loading || isLoading(node.callFrame);
    if (node.selfSize > 0) {
      if (inLoading) totals.loadingBytes += node.selfSize;
      else {
        totals.bytes += node.selfSize;
        add(totals.self, label(node.callFrame), node.selfSize);
        add(totals.areas, areaOf(node.callFrame), node.selfSize);
        for (const key of new Set(here.map(label))) add(totals.total, key, node.selfSize);
      }
    }
    for (const child of node.children) walk(child, here, inLoading);
  };
  for (const profile of profiles) walk(profile.head, [], false);
  return totals;
}

function table(title: string, rows: [string, number][], all: number, top: number, per?: { n: number; what: string }): string[] {
  const sorted = rows.sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `**${title}**`,
    "",
    per ? `| | MB | % | bytes per ${per.what} |` : "| | MB | % |",
    per ? "| --- | ---: | ---: | ---: |" : "| --- | ---: | ---: |",
    ...sorted.map(([key, bytes]) => {
      const cells = [`\`${key.replace(/\|/g, "\\|")}\``, (bytes / 1e6).toFixed(1), ((bytes / all) * 100).toFixed(1)];
      if (per) cells.push((bytes / per.n).toFixed(0));
      return `| ${cells.join(" | ")} |`;
    }),
    "",
  ];
}

export function summarizeAllocations(
  profiles: AllocationProfile[],
  options: { title: string; files: string[]; top: number; per?: { n: number; what: string } | undefined },
): string {
  const t = tallyAllocations(profiles);
  const seconds = profiles.reduce((sum, p) => sum + (p.durationMs ?? 0), 0) / 1000;
  const rate = seconds > 0 ? `, ${(t.bytes / 1e6 / seconds).toFixed(1)} MB/s per process on average` : "";
  const per = options.per ? `, ${(t.bytes / options.per.n).toFixed(0)} bytes per ${options.per.what}` : "";
  const oursTotal = [...t.total].filter(([key]) => /\s(grpc-demo|websocket-chat|packages)\//.test(key));
  return [
    `# ${options.title}`,
    "",
    `Allocation samples (objects freed since included): ${options.files.map((f) => `\`${basename(f)}\``).join(", ")}. ` +
      `Counted ${(t.bytes / 1e6).toFixed(1)} MB${rate}${per}; left out: module loading ${(t.loadingBytes / 1e6).toFixed(1)} MB.`,
    "",
    ...table("Allocated by area", [...t.areas], t.bytes, options.top, options.per),
    ...table("Top functions by bytes allocated", [...t.self], t.bytes, options.top, options.per),
    ...table("Our functions by bytes allocated (self + callees)", oursTotal, t.bytes, options.top, options.per),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" }, title: { type: "string" }, per: { type: "string" }, "per-what": { type: "string", default: "message" } },
  });
  if (positionals.length === 0) throw new Error("usage: alloc-summary.ts [--top N] [--title T] [--per N --per-what W] a.heapprofile [b.heapprofile ...]");
  const profiles = positionals.map((file) => JSON.parse(readFileSync(file, "utf8")) as AllocationProfile);
  const per = values.per === undefined ? undefined : { n: Number(values.per), what: values["per-what"] };
  process.stdout.write(summarizeAllocations(profiles, { title: values.title ?? "Allocation profile", files: positionals, top: Number(values.top), per }));
}
