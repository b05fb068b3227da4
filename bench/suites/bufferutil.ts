import { createRequire } from "node:module";
import { pick, type BenchContext } from "../lib/context.js";
import { ratio, type SuiteResult, type Table } from "../lib/report.js";
import { chatSides, sideBySide, variantCells, variantColumns, type ChatRow, type ChatSettings } from "./chat.js";

/**
 * Knob: ws's optional native addon (bufferutil, a root devDependency here, absent from the kit's
 * images) in our chat cluster. ws uses it to unmask client frames of 32 bytes or more; without it,
 * a JavaScript loop does. Both clusters up at once, taking turns at each load.
 */
export async function bufferutilSuite(ctx: BenchContext): Promise<SuiteResult> {
  const require = createRequire(import.meta.url);
  require.resolve("bufferutil"); // fails the suite, with the reason, when the addon is not installed
  const settings: ChatSettings = pick(
    ctx,
    { clients: 300, rooms: 10, workers: 2, loads: [100, 400], warmupSeconds: 2, seconds: 6 },
    { clients: 60, rooms: 4, workers: 1, loads: [40], warmupSeconds: 0.5, seconds: 1.5 },
  );
  const [shipped] = chatSides(ctx, {}).filter((s) => s.name === "ours");
  // Our servers run with WS_NO_BUFFER_UTIL=1 (see ourChatBenchEnv), as in the images; an empty value turns it back on.
  const [withAddon] = chatSides(ctx, { WS_NO_BUFFER_UTIL: "" }, "ours + bufferutil", "ours with bufferutil").filter((s) => s.name === "ours + bufferutil");
  const rows: ChatRow[] = await sideBySide(ctx, [shipped!, withAddon!], settings);
  rows.sort((a, b) => (a.side === b.side ? a.offered - b.offered : a.side === "ours" ? -1 : 1));
  const table: Table = {
    title: `Chat cluster with and without bufferutil: ${settings.clients} clients, ${settings.rooms} rooms`,
    columns: ["ws", ...variantColumns, "vs without"],
    rows: rows.map((r) => {
      const base = rows.find((x) => x.side === "ours" && x.offered === r.offered);
      return [
        r.side === "ours" ? "JavaScript unmasking (as shipped)" : "bufferutil",
        ...variantCells(r),
        base ? ratio(r.serverCpuPer1kDeliveries, base.serverCpuPer1kDeliveries) : "",
      ];
    }),
  };
  return {
    id: "bufferutil",
    title: "Knob: ws's native bufferutil addon",
    method:
      "Our chat cluster (3 replicas, one Redis) under the chat suite's handout-protocol load, once as the kit ships it (ws unmasks client frames in JavaScript) and once " +
      "with the bufferutil addon loaded; both clusters up at once, taking turns at each load. utf-8-validate is not measured: on Node ≥ 18.14 ws validates UTF-8 with buffer.isUtf8.",
    tables: [table],
    charts: [],
    targets: [],
    notes: [],
    raw: { settings, rows },
  };
}
