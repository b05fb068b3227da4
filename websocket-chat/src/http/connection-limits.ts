/** Per-address bounds on this replica's Socket.IO connections. */
export interface ConnectionLimitOptions {
  /** Connections one address may hold open at once. */
  maxSockets: number;
  /** New connections one address may open per `windowMs`. */
  maxConnects: number;
  windowMs: number;
}

/**
 * Admission for new connections, per client address, on this replica (in memory: a handshake is
 * checked without a Redis round trip, and a flood costs no Redis traffic). Open connections are
 * counted exactly; the connect rate is a sliding-window estimate (the previous window's count,
 * weighted by how much of it still overlaps, plus the current one), so memory is bounded by the
 * addresses seen in two windows.
 */
export class ConnectionLimits {
  private readonly open = new Map<string, number>();
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private windowStart: number;

  constructor(
    private readonly options: ConnectionLimitOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.windowStart = now();
  }

  /**
   * Why a new connection from `address` is refused, or undefined when it may proceed (it is then
   * counted against the connect rate; count it open with `opened()` once it is established).
   */
  admit(address: string): string | undefined {
    const open = this.open.get(address) ?? 0;
    if (open >= this.options.maxSockets) {
      return `too many connections from ${address}: at most ${this.options.maxSockets} at once`;
    }
    const now = this.now();
    this.rotate(now);
    const elapsed = now - this.windowStart;
    const overlap = 1 - elapsed / this.options.windowMs;
    const recent = (this.previous.get(address) ?? 0) * overlap + (this.current.get(address) ?? 0);
    if (recent >= this.options.maxConnects) {
      const seconds = Math.max(1, Math.ceil((this.options.windowMs - elapsed) / 1000));
      return `too many new connections from ${address}: at most ${this.options.maxConnects} per ${this.options.windowMs / 1000} s; try again in ${seconds} s`;
    }
    this.current.set(address, (this.current.get(address) ?? 0) + 1);
    return undefined;
  }

  /** Counts an established connection from `address`; `closed(address)` once it closes. */
  opened(address: string): void {
    this.open.set(address, (this.open.get(address) ?? 0) + 1);
  }

  /** One connection `opened()` for `address` has closed: call exactly once per `opened()`. */
  closed(address: string): void {
    const left = (this.open.get(address) ?? 1) - 1;
    if (left > 0) this.open.set(address, left);
    else this.open.delete(address);
  }

  private rotate(now: number): void {
    const passed = Math.floor((now - this.windowStart) / this.options.windowMs);
    if (passed <= 0) return;
    this.previous = passed === 1 ? this.current : new Map<string, number>();
    this.current = new Map<string, number>();
    this.windowStart += passed * this.options.windowMs;
  }
}
