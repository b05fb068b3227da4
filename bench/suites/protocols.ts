import type { BenchContext } from "../lib/context.js";
import type { SuiteResult } from "../lib/report.js";

export async function protocolsSuite(_ctx: BenchContext): Promise<SuiteResult> {
  throw new Error("not written yet");
}
