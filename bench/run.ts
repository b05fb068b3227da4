// `npm run bench [-- --quick] [-- --runs N] [-- --only grpc,protocols,chat,fanout,bufferutil,proxy,connections,scaleout,startup]`: runs the kit and the
// handout's peers side by side on loopback and writes bench/results/. A measurement, never a test:
// nothing here fails on a number; it fails only when a server cannot start or a run is incomplete.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import type { BenchContext } from "./lib/context.js";
import { cpuLedger, machineInfo, otherWork, requireBinaries } from "./lib/machine.js";
import { preparePeers } from "./lib/peers.js";
import { compileServices, killAll } from "./lib/processes.js";
import { textTable, type SuiteResult } from "./lib/report.js";
import { writeSummary } from "./lib/summary.js";
import { round } from "./lib/stats.js";
import { barChartSvg } from "./lib/svg.js";
import { chatSuite } from "./suites/chat.js";
import { connectionsSuite } from "./suites/connections.js";
import { bufferutilSuite } from "./suites/bufferutil.js";
import { fanoutSuite } from "./suites/fanout.js";
import { proxySuite } from "./suites/proxy.js";
import { grpcSuite } from "./suites/grpc.js";
import { protocolsSuite } from "./suites/protocols.js";
import { scaleoutSuite } from "./suites/scaleout.js";
import { startupSuite } from "./suites/startup.js";

const suites = { grpc: grpcSuite, protocols: protocolsSuite, chat: chatSuite, fanout: fanoutSuite, bufferutil: bufferutilSuite, proxy: proxySuite, connections: connectionsSuite, scaleout: scaleoutSuite, startup: startupSuite } as const;
type SuiteId = keyof typeof suites;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    out: { type: "string" },
    runs: { type: "string" },
  },
});

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// The quick smoke test leaves out the knob experiments and the scale-out matrix, to stay within its 2-minute budget.
const quickSkips = new Set(["fanout", "bufferutil", "proxy", "scaleout"]);
const selected = (values.only ? values.only.split(",").map((s) => s.trim()) : Object.keys(suites).filter((id) => !(values.quick && quickSkips.has(id)))) as SuiteId[];
for (const id of selected) if (!(id in suites)) throw new Error(`unknown suite '${id}'; choose from ${Object.keys(suites).join(", ")}`);
// Quick runs (CI smoke test) never overwrite the committed results of a full run.
// Cells repeated and reported as the median, so one run disturbed by the machine's other work does not decide a figure.
const runs = values.runs === undefined ? (values.quick ? 1 : 3) : Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a positive integer, got '${values.runs}'`);
const outDir = resolve(values.out ?? join(repo, "bench/results", values.quick ? "quick" : ""));

const started = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);

process.on("SIGINT", () => {
  killAll();
  process.exit(130);
});

async function main(): Promise<void> {
  requireBinaries(["redis-server"]);
  const machine = machineInfo();
  const runLedger = cpuLedger();
  log(`machine: ${machine.nproc} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, load ${machine.loadAverage.join(" ")}; ${machine.redis}`);
  compileServices(repo);
  const peers = preparePeers(repo, log);
  if (peers.problem) log(`peers: ${peers.problem}`);
  const ctx: BenchContext = { repo, quick: values.quick, runs, peers, log };

  const results: SuiteResult[] = [];
  const failures: { suite: string; error: string }[] = [];
  for (const id of selected) {
    log(`== ${id}`);
    try {
      const before = loadavg()[0]!;
      const ledger = cpuLedger();
      const result = await suites[id](ctx);
      // The load average includes the suite's own servers; the ledger tells other work apart.
      result.loadAverage = [round(before), round(loadavg()[0]!)];
      result.otherWork = otherWork(ledger, cpuLedger(), machine.nproc);
      results.push(result);
      for (const table of result.tables) console.log(`\n${textTable(table)}\n`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      failures.push({ suite: id, error: message });
      log(`${id} failed: ${message}`);
      killAll();
    }
  }

  mkdirSync(outDir, { recursive: true });
  const finishedAt = new Date();
  const document = {
    kind: values.quick ? "quick" : "full",
    runs,
    startedAt: new Date(started).toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.round((finishedAt.getTime() - started) / 1000),
    machine,
    loadAverageAtEnd: machineInfo().loadAverage,
    otherWork: otherWork(runLedger, cpuLedger(), machine.nproc),
    peers: peers.problem ?? "ok",
    suites: results,
    failures,
  };
  const stamp = finishedAt.toISOString().replace(/[:.]/g, "-");
  const json = JSON.stringify(document, null, 2);
  writeFileSync(join(outDir, `run-${stamp}.json`), json);
  writeFileSync(join(outDir, "latest.json"), json);
  for (const result of results) for (const chart of result.charts) writeFileSync(join(outDir, chart.file), barChartSvg(chart));
  for (const result of results) writeFileSync(join(outDir, `${result.id}.json`), JSON.stringify(result, null, 2));
  writeFileSync(join(outDir, "latest.md"), writeSummary(document));
  log(`results in ${outDir} (latest.md, latest.json, *.svg) after ${document.durationSeconds} s`);
  if (failures.length) {
    log(`${failures.length} suite(s) failed: ${failures.map((f) => f.suite).join(", ")}`);
    process.exitCode = 1;
  }
}

main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  })
  .finally(() => {
    killAll();
    // Clients of stopped servers may hold timers; the run is over.
    setTimeout(() => process.exit(), 200).unref();
  });
