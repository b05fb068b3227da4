import type { MachineInfo, OtherWork } from "./machine.js";
import { markdownTable, targetLine, type SuiteResult } from "./report.js";

export interface RunDocument {
  kind: string;
  /** `--runs`: how many times the suites that honour it repeated their cells (absent in older results). */
  runs?: number;
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  loadAverageAtEnd: number[];
  /** CPU other processes took during the run (absent in results written before it was measured). */
  otherWork?: OtherWork;
  peers: string;
  suites: SuiteResult[];
  failures: { suite: string; error: string }[];
}

/** The Markdown summary: machine, targets, then each suite's method, tables and charts. */
export function writeSummary(doc: RunDocument): string {
  const m = doc.machine;
  // Other work above 5 % of the machine shows in the numbers; the load average cannot tell (our own servers raise it).
  const busy = (doc.otherWork?.share ?? 0) > 0.05;
  const pct = (share: number) => `${(share * 100).toFixed(1)} %`;
  const lines: string[] = [
    `# Benchmark results (${doc.kind} run)`,
    "",
    `Run ${doc.startedAt}, ${doc.durationSeconds} s, with \`npm run bench${doc.kind === "quick" ? " -- --quick" : ""}\`` +
      (doc.runs && doc.runs > 1 ? `; the suites that say so repeat their cells ${doc.runs} times and report the median.` : "."),
    "",
    `Machine: ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, ${m.redis}.`,
    (doc.otherWork ? `Other processes used ${doc.otherWork.cpuSeconds} CPU s during the run, ${pct(doc.otherWork.share)} of the machine` : "Other processes' CPU was not measured") +
      ` (load average ${m.loadAverage.join(" / ")} at the start, ${doc.loadAverageAtEnd.join(" / ")} at the end, the benchmark's own processes included)` +
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
    if (suite.otherWork) lines.push(`Other processes used ${suite.otherWork.cpuSeconds} CPU s during this suite, ${pct(suite.otherWork.share)} of the machine's ${doc.machine.nproc} cores.`, "");
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
