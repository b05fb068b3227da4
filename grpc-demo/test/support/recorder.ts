import type { Metadata, ServiceError } from "@grpc/grpc-js";

interface ReadableCall<T> {
  on(event: "data", listener: (item: T) => void): unknown;
  on(event: "error", listener: (error: ServiceError) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  on(event: "metadata", listener: (metadata: Metadata) => void): unknown;
}

/**
 * Records what a stream delivers so a test can wait for a count, an end or an error,
 * with a bound, instead of sleeping.
 */
export class StreamRecorder<T> {
  readonly items: T[] = [];
  error: ServiceError | undefined;
  ended = false;
  headers: Metadata | undefined;
  private waiters: Array<() => void> = [];

  constructor(call: ReadableCall<T>) {
    call.on("data", (item) => {
      this.items.push(item);
      this.wake();
    });
    call.on("error", (error) => {
      this.error = error;
      this.wake();
    });
    call.on("end", () => {
      this.ended = true;
      this.wake();
    });
    call.on("metadata", (metadata) => {
      this.headers = metadata;
      this.wake();
    });
  }

  /** Resolves once `predicate` holds; rejects after `timeoutMs`. */
  until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.items.length} items`));
      }, timeoutMs);
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  count(n: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.items.length >= n, `${n} items`, timeoutMs);
  }

  /** Resolves when the server has answered with headers (a subscription is registered). */
  ready(timeoutMs?: number): Promise<void> {
    return this.until(() => this.headers !== undefined || this.items.length > 0, "response headers", timeoutMs);
  }

  failed(timeoutMs?: number): Promise<ServiceError> {
    return this.until(() => this.error !== undefined, "an error", timeoutMs).then(() => this.error!);
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
