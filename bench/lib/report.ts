import type { OtherWork } from "./machine.js";
/** What every suite hands back: tables to print, charts to draw, targets checked, raw data. */
export interface SuiteResult {
  id: string;
  title: string;
  /** One paragraph: what was measured and how. */
  method: string;
  tables: Table[];
  charts: BarChart[];
  targets: Target[];
  notes: string[];
  raw: unknown;
  /** 1-minute load average when the suite started and ended (set by the runner). */
  loadAverage?: [number, number];
  /** CPU other processes took while the suite ran (see cpuLedger): its numbers are clean when this is near 0. */
  otherWork?: OtherWork;
}

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface BarChart {
  /** File name under bench/results/, e.g. `grpc-unary.svg`. */
  file: string;
  title: string;
  unit: string;
  /** Group labels along the x axis (e.g. concurrency levels). */
  groups: string[];
  /** One bar per series in each group (e.g. ours, peer). */
  series: { name: string; values: (number | null)[] }[];
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  /** undefined when it could not be measured in this run. */
  met: boolean | undefined;
}

export function markdownTable(table: Table): string {
  const head = `| ${table.columns.join(" | ")} |`;
  const rule = `| ${table.columns.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`;
  const body = table.rows.map((row) => `| ${row.map((cell) => String(cell)).join(" | ")} |`);
  return [`**${table.title}**`, "", head, rule, ...body].join("\n");
}

/** A plain-text table for the terminal. */
export function textTable(table: Table): string {
  const cells = [table.columns, ...table.rows.map((r) => r.map(String))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return [table.title, line(table.columns), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

export function targetLine(t: Target): string {
  const verdict = t.met === undefined ? "not measured" : t.met ? "met" : "missed";
  return `| ${t.name} | ${t.goal} | ${t.measured} | ${verdict} |`;
}

/** Formats a number for tables: thousands separators, at most 2 decimals (3 below 1). */
export function fmt(value: number | null | undefined, decimals?: number): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const d = decimals ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 1 ? 2 : 3);
  return value.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: 0 });
}

export function ratio(ours: number, peer: number): string {
  if (!peer || !Number.isFinite(ours / peer)) return "–";
  return `${(ours / peer).toFixed(2)}×`;
}
