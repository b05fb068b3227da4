import type { UserServiceClient } from "grpc-demo/client";
import { Output } from "../../../../grpc-demo/src/cli/output.js";
import { followUpdates } from "../../../../grpc-demo/src/cli/subscribe.js";

export interface FollowedUpdates {
  /** The JSON lines `userctl --json subscribe` would print, one per update. */
  lines: string[];
  /** Its notes (stderr): how the stream dropped and resumed. */
  notes: string[];
  /** How many times the subscription was opened (1, then one more per resume). */
  readonly opened: number;
  /** The users' names in the updates so far, in order. */
  names(): string[];
  /** Resolves once `check()` holds; fails after `timeoutMs` with `what` and the notes so far. */
  until(check: () => boolean, what: string): Promise<void>;
  /** Ends the subscription and waits for it to finish. */
  stop(): Promise<void>;
}

export interface FollowOptions {
  /** The CLI's longest wait before reopening a dropped stream. */
  maxBackoffMs: number;
  /** How long `until` waits. */
  timeoutMs: number;
  /** How often `until` looks. */
  pollMs: number;
}

/** `userctl subscribe` from now on, through `client`, as the CLI runs it (same code, output captured). */
export function followUserUpdates(client: UserServiceClient, { maxBackoffMs, timeoutMs, pollMs }: FollowOptions): FollowedUpdates {
  const lines: string[] = [];
  const notes: string[] = [];
  const out = new Output(true, (line) => lines.push(line), (line) => notes.push(line));
  const abort = new AbortController();
  let opened = 0;
  const following = followUpdates(client, out, { since: "", count: 0, signal: abort.signal, maxBackoffMs, onReady: () => (opened += 1) });
  return {
    lines,
    notes,
    get opened() {
      return opened;
    },
    names: () => lines.map((line) => (JSON.parse(line) as { user: { name: string } }).user.name),
    async until(check, what) {
      const deadline = Date.now() + timeoutMs;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; notes: ${notes.join(" | ")}`);
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
    async stop() {
      abort.abort();
      await following;
    },
  };
}
