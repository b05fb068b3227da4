// Preloaded (`node --import`) into every server the bench starts when BENCH_ALLOC_PROFILE_DIR is
// set: samples where the process allocates, *including* objects the young-generation collector has
// already freed, which is what scavenges cost. `--heap-prof` cannot: it keeps only objects still
// alive at exit, so short-lived garbage (per message: parsed JSON, encoded packets) never shows.
// Writes <dir>/<pid>.heapprofile (open it in Chrome DevTools' Memory tab, or summarize it with
// bench/alloc-summary.ts) when the process exits. The in-process inspector session answers
// synchronously, so stopping and writing inside the 'exit' event works.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.BENCH_ALLOC_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  const post = (method, params) => {
    let answer;
    session.post(method, params, (error, result) => {
      if (error) throw error;
      answer = result;
    });
    return answer;
  };
  post("HeapProfiler.enable");
  // 32 KiB between samples on average: a few thousand samples a second at the bench's loads.
  post("HeapProfiler.startSampling", { samplingInterval: 32 * 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
  const startedAt = Date.now();
  process.on("exit", () => {
    const { profile } = post("HeapProfiler.stopSampling");
    writeFileSync(join(dir, `${process.pid}.heapprofile`), JSON.stringify({ ...profile, durationMs: Date.now() - startedAt }));
  });
}
