interface Batch<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * Shares one read among many callers without ever answering a caller with a read that started
 * before it asked: callers that ask while a read is in flight wait for the next one. Each read
 * starts on the turn of the event loop after the first caller asked (setImmediate), so every
 * request decoded in the same I/O phase shares it. Under load one Redis round trip answers a
 * whole batch of calls; alone, a caller pays one round trip.
 */
export class ReadFence<T> {
  /** Callers waiting for the next read; they all get its one promise. */
  private gathering: Batch<T> | undefined;
  private busy = false;

  constructor(private readonly read: () => Promise<T>) {}

  /** The result of a read that starts after this call. */
  next(): Promise<T> {
    if (!this.gathering) {
      let resolve!: (value: T) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.gathering = { promise, resolve, reject };
      if (!this.busy) {
        this.busy = true;
        setImmediate(this.drain);
      }
    }
    return this.gathering.promise;
  }

  private readonly drain = (): void => {
    const batch = this.gathering!;
    this.gathering = undefined;
    this.read().then(
      (value) => this.settle(() => batch.resolve(value)),
      (error: unknown) => this.settle(() => batch.reject(error)),
    );
  };

  private settle(answer: () => void): void {
    answer();
    // Callers that asked during this read need a read of their own, gathered the same way.
    if (this.gathering) setImmediate(this.drain);
    else this.busy = false;
  }
}
