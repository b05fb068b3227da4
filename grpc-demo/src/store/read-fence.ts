interface Waiter<T> {
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
  private waiting: Waiter<T>[] = [];
  private busy = false;

  constructor(private readonly read: () => Promise<T>) {}

  /** The result of a read that starts after this call. */
  next(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.busy) {
        this.busy = true;
        setImmediate(this.drain);
      }
    });
  }

  private readonly drain = (): void => {
    const batch = this.waiting;
    this.waiting = [];
    this.read().then(
      (value) => this.settle(batch, (waiter) => waiter.resolve(value)),
      (error: unknown) => this.settle(batch, (waiter) => waiter.reject(error)),
    );
  };

  private settle(batch: Waiter<T>[], answer: (waiter: Waiter<T>) => void): void {
    for (const waiter of batch) answer(waiter);
    // Callers that asked during this read need a read of their own, gathered the same way.
    if (this.waiting.length > 0) setImmediate(this.drain);
    else this.busy = false;
  }
}
