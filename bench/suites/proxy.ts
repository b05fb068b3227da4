import { pick, type BenchContext } from "../lib/context.js";
import { requireBinaries } from "../lib/machine.js";
import { startNginx } from "../lib/nginx.js";
import { fmt, type SuiteResult, type Table } from "../lib/report.js";
import { cluster } from "../lib/services.js";
import { chatSides, sideBySide, variantCells, variantColumns, type ChatRow, type ChatSide, type ChatSettings } from "./chat.js";

/**
 * What nginx in front of the chat replicas costs: our cluster at fixed offered loads, clients
 * straight to the replicas vs all through one nginx (Debian's package), as in the kit's topology.
 */
export async function proxySuite(ctx: BenchContext): Promise<SuiteResult> {
  requireBinaries(["nginx"]);
  const settings: ChatSettings = pick(
    ctx,
    { clients: 300, rooms: 10, workers: 2, loads: [100, 400], warmupSeconds: 2, seconds: 6 },
    { clients: 60, rooms: 4, workers: 1, loads: [40], warmupSeconds: 0.5, seconds: 1.5 },
  );
  const ours = chatSides(ctx, {}).find((s) => s.name === "ours")!;
  const viaNginx: ChatSide = {
    name: "ours via nginx",
    label: "ours behind nginx",
    async start() {
      const base = await ours.start();
      const nginx = await startNginx(base.replicas.map((r) => r.port));
      return { ...base, cluster: cluster([nginx, ...base.cluster.services]), entry: [nginx.url], proxyPids: () => nginx.pids() };
    },
  };
  const rows: ChatRow[] = (await sideBySide(ctx, [ours, viaNginx], settings)).sort((a, b) => (a.side === b.side ? a.offered - b.offered : a.side === "ours" ? -1 : 1));
  const table: Table = {
    title: `Chat through nginx: ${settings.clients} clients, ${settings.rooms} rooms`,
    columns: ["path", ...variantColumns, "of which nginx s", "replicas + Redis s"],
    rows: rows.map((r) => [
      r.side === "ours" ? "direct to replicas" : "through nginx",
      ...variantCells(r),
      fmt(r.cpu.proxy ?? 0),
      fmt(r.cpu.replicas.reduce((a, b) => a + b, 0) + r.cpu.redis),
    ]),
  };
  return {
    id: "proxy",
    title: "The cost of nginx in front of the chat replicas",
    method:
      "Our chat cluster (3 replicas, one Redis) under the same handout-protocol load, once with clients spread over the replicas directly, once with every client " +
      "connecting through one nginx (Debian's package, 1 worker, WebSocket upgrade, round robin); both clusters up at once, taking turns at each load. nginx's CPU is counted as server CPU.",
    tables: [table],
    charts: [],
    targets: [],
    notes: [],
    raw: { settings, rows },
  };
}
