/**
 * At most `size` tasks at a time; the rest wait their turn in order. The hub runs replays through
 * them, so hundreds of subscribers replaying at once take turns instead of queueing hundreds of
 * XRANGEs on the shared Redis connection and hundreds of batches on the event loop, ahead of
 * every GetUser.
 */
export class Slots {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy += 1;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so busy stays counted.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy -= 1;
    }
  }
}
