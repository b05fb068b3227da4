// `node --import tsx bench/profile-summary.ts [--top 25] [--title "..."] [--focus fn] [--last-s N] a.cpuprofile [b.cpuprofile ...] > summary.md`
// Summarizes V8 CPU profiles (BENCH_PROFILE_DIR writes one per server process) as Markdown tables:
// where the busy time went by area (library, our source folder, Node internals, GC) and the top
// functions by self and by total time. Several profiles (e.g. both replicas) are added together.
// Module loading is left out (startup is not what a cell measures); --focus keeps only the samples
// with a matching frame on their stack (e.g. --focus dispatch: what delivering an event costs);
// --last-s N only each profile's last N seconds (a BENCH_GRPC_PARTS=unary run ends with its cell).
// A .cpuprofile is tens of MB; these tables are what gets committed (bench/results/profiles/).
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  startTime: number;
  endTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, one of our source folders, a Node internal module, or V8's own pseudo-frames. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /\/(grpc-demo|websocket-chat|packages\/redis-kit|bench)\/(?:src\/)?([^/]+)\//.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  const internal = /^node:(?:internal\/)?([^/]+(?:\/[^/]+)?)/.exec(url);
  if (internal) return `node:${internal[1]!.replace(/\.js$/, "")}`;
  return basename(url);
}

export function label(frame: CallFrame): string {
  const ours = /^file:\/\/.*?\/(grpc-demo|websocket-chat|packages|bench)\//.test(frame.url);
  const file = frame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(grpc-demo|websocket-chat|packages|bench)\//, "$1/");
  // tsx compiles our files to one line each: their line numbers say nothing.
  const where = file === "" ? "" : ours ? file : `${file}:${frame.lineNumber + 1}`;
  return `${frame.functionName || "(anonymous)"} ${where}`.trim();
}

/** Module loading (startup, lazy imports): not the hot path a benchmark cell measures. */
export function isLoading(frame: CallFrame): boolean {
  return frame.url.startsWith("node:internal/modules/") || frame.url.includes("/node_modules/tsx/");
}

interface Totals {
  busyMs: number;
  /** Busy time spent loading modules, left out of every table. */
  loadingMs: number;
  /** Busy time outside the focus (when one is given), left out of every table. */
  unfocusedMs: number;
  idleMs: number;
  self: Map<string, number>;
  total: Map<string, number>;
  areas: Map<string, number>;
}

/** Adds `amount` (ms, bytes) to `key`'s total. */
export function add(map: Map<string, number>, key: string, amount: number) {
  map.set(key, (map.get(key) ?? 0) + amount);
}

/**
 * Adds up the samples; with `focus`, only those with a frame whose label contains it on their
 * stack; with `lastSeconds`, only those of each profile's last seconds (a profiling run that ends
 * with the cell it profiles: startup and seeding stay out).
 */
export function tally(profiles: CpuProfile[], focus?: string, lastSeconds?: number): Totals {
  const totals: Totals = { busyMs: 0, loadingMs: 0, unfocusedMs: 0, idleMs: 0, self: new Map(), total: new Map(), areas: new Map() };
  for (const profile of profiles) {
    // Sample times in µs, as the profile counts them.
    const from = lastSeconds === undefined ? Number.NEGATIVE_INFINITY : profile.endTime - lastSeconds * 1e6;
    let at = profile.startTime;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    profile.samples.forEach((id, i) => {
      // timeDeltas[i] is the time before sample i; the sample stands for the interval after the previous one.
      const ms = (profile.timeDeltas[i] ?? 0) / 1000;
      at += profile.timeDeltas[i] ?? 0;
      if (at < from) return;
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === "(idle)") {
        totals.idleMs += ms;
        return;
      }
      const stack: CallFrame[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const f = byId.get(at)!.callFrame;
        if (f.functionName === "(root)") break;
        stack.push(f);
      }
      if (stack.some(isLoading)) {
        totals.loadingMs += ms;
        return;
      }
      if (focus !== undefined && !stack.some((f) => label(f).includes(focus))) {
        totals.unfocusedMs += ms;
        return;
      }
      totals.busyMs += ms;
      add(totals.self, label(frame), ms);
      add(totals.areas, areaOf(frame), ms);
      // Total time: each function once per sample, however deep it recurses.
      for (const key of new Set(stack.map(label))) add(totals.total, key, ms);
    });
  }
  return totals;
}

function table(title: string, rows: [string, number][], busyMs: number, top: number): string[] {
  const sorted = rows.sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `**${title}**`,
    "",
    "| | ms | % of busy |",
    "| --- | ---: | ---: |",
    ...sorted.map(([key, ms]) => `| \`${key.replace(/\|/g, "\\|")}\` | ${ms.toFixed(0)} | ${((ms / busyMs) * 100).toFixed(1)} |`),
    "",
  ];
}

export function summarize(
  profiles: CpuProfile[],
  options: { title: string; files: string[]; top: number; focus?: string | undefined; lastSeconds?: number | undefined },
): string {
  const t = tally(profiles, options.focus, options.lastSeconds);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const left = [`module loading ${s(t.loadingMs)}`, options.focus ? `outside \`${options.focus}\` ${s(t.unfocusedMs)}` : ""].filter(Boolean).join(", ");
  // Our own code's frames by total time: which of our functions the busy time runs under.
  const oursTotal = [...t.total].filter(([key]) => /\s(grpc-demo|packages)\//.test(key));
  return [
    `# ${options.title}`,
    "",
    `Profiles: ${options.files.map((f) => `\`${basename(f)}\``).join(", ")}. Counted ${s(t.busyMs)} of busy time (left out: ${left}); idle ${s(t.idleMs)}.` +
      (options.lastSeconds !== undefined ? ` Only each profile's last ${options.lastSeconds} s.` : "") +
      (options.focus ? ` Only samples with \`${options.focus}\` on their stack.` : ""),
    "",
    ...table("Self time by area", [...t.areas], t.busyMs, options.top),
    ...table("Top functions by self time", [...t.self], t.busyMs, options.top),
    ...table("Our functions by total time (self + callees)", oursTotal, t.busyMs, options.top),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "25" }, title: { type: "string" }, focus: { type: "string" }, "last-s": { type: "string" } } });
  if (positionals.length === 0) throw new Error("usage: profile-summary.ts [--top N] [--title T] a.cpuprofile [b.cpuprofile ...]");
  const profiles = positionals.map((file) => JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
  process.stdout.write(summarize(profiles, { title: values.title ?? "CPU profile", files: positionals, top: Number(values.top), focus: values.focus, lastSeconds: values["last-s"] === undefined ? undefined : Number(values["last-s"]) }));
}
