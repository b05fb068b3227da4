import type { MachineInfo } from "./machine.js";
import { markdownTable, targetLine, type SuiteResult } from "./report.js";

export interface RunDocument {
  kind: string;
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  loadAverageAtEnd: number[];
  peers: string;
  suites: SuiteResult[];
  failures: { suite: string; error: string }[];
}

/** The Markdown summary: machine, targets, then each suite's method, tables and charts. */
export function writeSummary(doc: RunDocument): string {
  const m = doc.machine;
  const busy = Math.max(...m.loadAverage, ...doc.loadAverageAtEnd) > m.nproc * 0.75;
  const lines: string[] = [
    `# Benchmark results (${doc.kind} run)`,
    "",
    `Run ${doc.startedAt}, ${doc.durationSeconds} s, with \`npm run bench${doc.kind === "quick" ? " -- --quick" : ""}\`.`,
    "",
    `Machine: ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, ${m.redis}.`,
    `Load average at start ${m.loadAverage.join(" / ")}, at end ${doc.loadAverageAtEnd.join(" / ")}` +
      (busy ? ": **the machine was shared with other work during this run; treat absolute numbers as noisy and compare the ratios**." : "."),
    "Everything runs on loopback on this one machine: servers, Redis and the load generator share its cores.",
    "",
  ];
  if (doc.peers !== "ok") lines.push(`Peers: ${doc.peers}`, "");
  const targets = doc.suites.flatMap((s) => s.targets);
  if (targets.length) {
    lines.push("## Targets", "", "| target | goal | measured | verdict |", "| --- | --- | --- | --- |", ...targets.map(targetLine), "");
  }
  for (const suite of doc.suites) {
    lines.push(`## ${suite.title}`, "", suite.method, "");
    if (suite.loadAverage) lines.push(`Load average (1 min) ${suite.loadAverage[0]} at the start of this suite, ${suite.loadAverage[1]} at its end, on ${doc.machine.nproc} cores.`, "");
    for (const table of suite.tables) lines.push(markdownTable(table), "");
    for (const chart of suite.charts) lines.push(`![${chart.title}](${chart.file})`, "");
    for (const note of suite.notes) lines.push(`- ${note}`);
    if (suite.notes.length) lines.push("");
  }
  if (doc.failures.length) {
    lines.push("## Failed suites", "");
    for (const f of doc.failures) lines.push(`- ${f.suite}: ${f.error.split("\n")[0]}`);
    lines.push("");
  }
  return lines.join("\n");
}
