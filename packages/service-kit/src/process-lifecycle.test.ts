import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { exitOnFatalError, exitOnSignals, REPEAT_IGNORED_MS, type ServiceLogger } from "./process-lifecycle.js";

/** A process that records its exit codes instead of exiting. */
class FakeProcess extends EventEmitter {
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

function recordingLogger() {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, msg, obj });
  const logger: ServiceLogger = { info: at("info"), error: at("error"), fatal: at("fatal") };
  return { logger, lines };
}

/** A stop() the test finishes (or never does). */
function controlledStop() {
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
  return { stop: vi.fn(() => done), finish, fail };
}

const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("exitOnSignals", () => {
  it("stops once on SIGTERM and exits 0 when the stop finishes", async () => {
    const proc = new FakeProcess();
    const { logger, lines } = recordingLogger();
    const { stop, finish } = controlledStop();
    exitOnSignals({ logger, stop, forceExitAfterMs: 5_000, message: "draining", process: proc });

    proc.emit("SIGTERM", "SIGTERM");
    await settle();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(proc.exits).toEqual([]);
    finish();
    await settle();
    expect(proc.exits).toEqual([0]);
    expect(lines.map((line) => line.msg)).toEqual(["draining", "stopped"]);
  });

  it("exits 1 when the stop fails, and when it outlasts forceExitAfterMs", async () => {
    const failing = new FakeProcess();
    const failed = controlledStop();
    exitOnSignals({ logger: recordingLogger().logger, stop: failed.stop, forceExitAfterMs: 5_000, process: failing });
    failing.emit("SIGINT", "SIGINT");
    failed.fail(new Error("redis gone"));
    await settle();
    expect(failing.exits).toEqual([1]);

    const hanging = new FakeProcess();
    const { logger, lines } = recordingLogger();
    exitOnSignals({ logger, stop: controlledStop().stop, forceExitAfterMs: 5_000, process: hanging });
    hanging.emit("SIGTERM", "SIGTERM");
    await vi.advanceTimersByTimeAsync(4_999);
    expect(hanging.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(hanging.exits).toEqual([1]);
    expect(lines.at(-1)?.msg).toBe("shutdown took too long; exiting anyway");
  });

  it("ignores the same Ctrl+C delivered twice, and exits 1 at once on a second signal after that", async () => {
    const proc = new FakeProcess();
    const { stop } = controlledStop();
    exitOnSignals({ logger: recordingLogger().logger, stop, forceExitAfterMs: 60_000, process: proc });

    proc.emit("SIGINT", "SIGINT");
    proc.emit("SIGINT", "SIGINT"); // relayed by npm or tsx a moment later
    await vi.advanceTimersByTimeAsync(REPEAT_IGNORED_MS - 1);
    expect(proc.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    proc.emit("SIGTERM", "SIGTERM");
    expect(proc.exits).toEqual([1]);
    expect(stop).toHaveBeenCalledTimes(1);
  });
});

describe("exitOnFatalError", () => {
  it("logs what nothing caught at fatal, with its origin, and exits 1", () => {
    const proc = new FakeProcess();
    const { logger, lines } = recordingLogger();
    exitOnFatalError(logger, proc);
    const error = new Error("connect ECONNREFUSED");
    proc.emit("uncaughtException", error, "unhandledRejection");
    expect(lines).toEqual([{ level: "fatal", msg: "fatal error: exiting", obj: { err: error, origin: "unhandledRejection" } }]);
    expect(proc.exits).toEqual([1]);
  });
});
