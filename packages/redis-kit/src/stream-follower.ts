import type { RedisClient } from "./connect-redis.js";

/** One stream entry as XREAD returns it. */
export interface StreamEntry {
  id: string;
  message: Record<string, string>;
}

export interface StreamFollowerOptions {
  /** The stream to follow. */
  key: string;
  /** Where the next read continues from (exclusive); read before every XREAD. */
  cursor: () => string;
  /**
   * Runs before every read (e.g. loading the snapshot the cursor belongs to); a throw counts as
   * a failed read.
   */
  prepare?: () => Promise<void>;
  /** Handles one read's entries, in stream order (none when the block timed out). */
  onEntries: (entries: StreamEntry[]) => Promise<void> | void;
  /** A read, `prepare` or `onEntries` failed while following; the follower retries after `retryMs`. */
  onError: (error: unknown) => void;
  /** How long one XREAD blocks; bounds how soon a quiet stream gets `onEntries([])`. @default 2000 */
  blockMs?: number;
  /** Most entries one read returns. @default 100 */
  count?: number;
  /** Pause after a failure before reading again. @default 1000 */
  retryMs?: number;
}

/**
 * Follows one Redis stream with a blocking XREAD loop on a dedicated connection (XREAD BLOCK
 * holds it), so a process reads each event once however many local listeners it has. The
 * follower owns that connection: stop() disconnects it, which aborts a blocked read at once
 * instead of waiting out its block.
 */
export class StreamFollower {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly reader: RedisClient,
    private readonly options: StreamFollowerOptions,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts the loop; a second call while running does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.follow();
  }

  /** Stops reading and closes the reader's connection; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    if (this.reader.isOpen) await this.reader.disconnect().catch(() => undefined);
    await this.loop;
  }

  private async follow(): Promise<void> {
    const { key, blockMs = 2_000, count = 100, retryMs = 1_000 } = this.options;
    while (this.running) {
      try {
        await this.options.prepare?.();
        if (!this.running) break;
        const reply = await this.reader.xRead({ key, id: this.options.cursor() }, { BLOCK: blockMs, COUNT: count });
        if (!this.running) break;
        await this.options.onEntries(reply?.[0]?.messages ?? []);
      } catch (error) {
        if (!this.running) break;
        this.options.onError(error);
        await this.pause(retryMs);
      }
    }
  }

  /** Waits `ms`, or less when stop() comes first. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
    this.wakeUp = undefined;
  }
}
