/** The logger calls made here; pino's `Logger` fits. */
export interface ServiceLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
}

/** The part of `process` used here, so tests can hand in a fake one. */
export interface ServiceProcess {
  on(event: "SIGTERM" | "SIGINT", listener: (signal: NodeJS.Signals) => void): unknown;
  on(event: "uncaughtException", listener: (error: Error, origin: string) => void): unknown;
  exit(code: number): void;
}

export interface ExitOnSignalsOptions {
  logger: ServiceLogger;
  /** The whole orderly stop: not ready, stop accepting, drain, close what `main.ts` connected. */
  stop: () => Promise<void>;
  /**
   * The process exits 1 this long after the first signal if `stop()` has not finished: a Redis
   * that never answers QUIT must not keep a container alive until the orchestrator's SIGKILL.
   */
  forceExitAfterMs: number;
  /** Logged with the first signal. @default "shutting down" */
  message?: string;
  /** @default process */
  process?: ServiceProcess;
}

/**
 * A repeat this soon after the first signal is the same Ctrl+C reaching the process twice (the
 * terminal signals the whole process group, and npm or tsx relay it), not someone asking again.
 */
export const REPEAT_IGNORED_MS = 1_000;

/**
 * On SIGTERM or SIGINT, runs `stop()` once and exits 0 when it finishes, 1 when it fails or runs
 * past `forceExitAfterMs`. A second signal (after {@link REPEAT_IGNORED_MS}) exits 1 at once: the
 * way out of a drain the operator does not want to wait for.
 */
export function exitOnSignals(options: ExitOnSignalsOptions): void {
  const { logger, stop, forceExitAfterMs, message = "shutting down", process: proc = process } = options;
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < REPEAT_IGNORED_MS) return;
      logger.error({ signal }, "second signal: exiting without finishing the shutdown");
      proc.exit(1);
      return;
    }
    firstAt = Date.now();
    logger.info({ signal }, message);
    setTimeout(() => {
      logger.error({ afterMs: forceExitAfterMs }, "shutdown took too long; exiting anyway");
      proc.exit(1);
    }, forceExitAfterMs).unref();
    Promise.resolve()
      .then(stop)
      .then(
        () => {
          logger.info({}, "stopped");
          proc.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          proc.exit(1);
        },
      );
  };
  proc.on("SIGTERM", onSignal);
  proc.on("SIGINT", onSignal);
}

/**
 * Logs an error nothing caught (a failed start's rejected top-level await included: Node reports
 * it the same way) through the service's logger, so it reaches the logs as one JSON line at
 * `fatal` with the replica's name, then exits 1 as Node would have.
 */
export function exitOnFatalError(logger: ServiceLogger, proc: ServiceProcess = process): void {
  proc.on("uncaughtException", (error, origin) => {
    logger.fatal({ err: error, origin }, "fatal error: exiting");
    proc.exit(1);
  });
}
