import { Worker } from "node:worker_threads";

const bootstrap = new URL("../workers/ts-worker.mjs", import.meta.url);

/** Worker threads that answer each request with one typed reply, in order. */
export class WorkerPool<In extends { type: string }, Out extends { type: string }> {
  private readonly workers: Worker[];
  private readonly waiting = new Map<Worker, { type: string; resolve: (m: Out) => void; reject: (e: Error) => void }[]>();

  constructor(entry: URL, data: unknown[]) {
    this.workers = data.map((workerData) => {
      const worker = new Worker(bootstrap, { workerData: { ...(workerData as object), entry: entry.href } });
      this.waiting.set(worker, []);
      worker.on("message", (message: Out) => {
        const queue = this.waiting.get(worker)!;
        const index = queue.findIndex((w) => w.type === message.type);
        if (index >= 0) queue.splice(index, 1)[0]!.resolve(message);
      });
      worker.on("error", (error) => {
        for (const w of this.waiting.get(worker)!.splice(0)) w.reject(error);
      });
      return worker;
    });
  }

  private expect(worker: Worker, type: string, timeoutMs: number): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker gave no '${type}' within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.get(worker)!.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Waits for a message every worker sends by itself (e.g. `ready`). */
  all<T extends Out["type"]>(type: T, timeoutMs: number): Promise<Extract<Out, { type: T }>[]> {
    return Promise.all(this.workers.map((w) => this.expect(w, type, timeoutMs))) as Promise<Extract<Out, { type: T }>[]>;
  }

  /** Sends a request to every worker and waits for each one's reply of type `reply`. */
  ask<T extends Out["type"]>(message: In, reply: T, timeoutMs: number): Promise<Extract<Out, { type: T }>[]> {
    const replies = this.all(reply, timeoutMs);
    for (const w of this.workers) w.postMessage(message);
    return replies;
  }

  /** Sends `messages[i]` to worker i and waits for each one's reply of type `reply`. */
  askEach<T extends Out["type"]>(messages: In[], reply: T, timeoutMs: number): Promise<Extract<Out, { type: T }>[]> {
    if (messages.length !== this.workers.length) throw new Error(`${messages.length} messages for ${this.workers.length} workers`);
    const replies = this.all(reply, timeoutMs);
    this.workers.forEach((w, i) => w.postMessage(messages[i]));
    return replies;
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /**
   * Lets every worker close its connections (`message`, answered with `reply` within `timeoutMs`),
   * then terminates them all, whether they answered or not.
   */
  async close<T extends Out["type"]>(message: In, reply: T, timeoutMs: number): Promise<void> {
    await this.ask(message, reply, timeoutMs).catch(() => undefined);
    await this.terminate();
  }
}
