import type { UserEventEntry, UserRecord, UsersPage, UsersPageResult, UsersSubscription } from "../../src/contracts/events.js";
import { decodeUsersPage } from "../../src/contracts/users-page.js";
import { isAfter } from "./session.js";

/** How the model talks to a chat replica (the page's session; a test's socket). */
export interface UsersFeedApi {
  subscribe(since: string | undefined): Promise<UsersSubscription>;
  page(after: number): Promise<UsersPageResult>;
}

/** A live event applied, or a snapshot page (`done` on its last one). */
export type UsersChange = { kind: "event"; event: UserEventEntry } | { kind: "snapshot"; done: boolean };

/**
 * Every user the live feed knows, kept current without the DOM (the view renders a window of it;
 * tests drive it over a real socket). A snapshot arrives page by page while live events keep
 * coming: each page replaces the users in its id range, except those a live event newer than the
 * page already changed.
 */
export class UsersModel {
  private readonly byId = new Map<number, UserRecord>();
  /** Ids ascending. */
  private sorted: number[] = [];
  /** Position of the newest event reflected here. */
  private cursor: string | undefined;
  /** False until a snapshot has been read to its last page: until then, resuming needs a new one. */
  private synced = false;
  /** During a snapshot: the cursor of the last event applied to each id. */
  private touched: Map<number, string> | undefined;
  /** Bumped by each subscribe; an older, superseded one stops paging. */
  private generation = 0;
  private readonly listeners: ((change: UsersChange) => void)[] = [];
  /** Replica feeding this model (from the last subscribe). */
  server: string | undefined;

  constructor(private readonly api: UsersFeedApi) {}

  get size(): number {
    return this.byId.size;
  }

  /** Ids in ascending order: the table's row order. Do not modify. */
  get ids(): readonly number[] {
    return this.sorted;
  }

  get(id: number): UserRecord | undefined {
    return this.byId.get(id);
  }

  onChange(listener: (change: UsersChange) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Subscribes (again): the events missed since the last position, or a whole snapshot, read
   * page by page. Resolves once the model is current; rejects with the server's error.
   */
  async subscribe(): Promise<void> {
    const generation = ++this.generation;
    try {
      await this.read(generation);
    } catch (error) {
      // A superseded read fails as the server drops it (a reset): the newer one carries on.
      if (generation === this.generation) throw error;
    }
  }

  private async read(generation: number): Promise<void> {
    const reply = await this.api.subscribe(this.synced ? this.cursor : undefined);
    if (generation !== this.generation) return;
    this.server = reply.server;
    if (reply.mode === "events") {
      for (const event of reply.events) this.apply(event);
      return;
    }
    this.synced = false;
    this.cursor = reply.cursor;
    this.touched = new Map();
    let page: UsersPage = reply.page;
    for (;;) {
      this.replaceRange(page);
      if (page.next === null) break;
      this.emit({ kind: "snapshot", done: false });
      const next = await this.api.page(page.next);
      if (generation !== this.generation) return;
      page = next.page;
    }
    this.touched = undefined;
    this.synced = true;
    this.emit({ kind: "snapshot", done: true });
  }

  /** The feed started over (its Redis was wiped): forget the position; the next subscribe reads a snapshot. */
  reset(): void {
    this.synced = false;
    this.cursor = undefined;
    this.generation += 1;
  }

  /** A live `users:event`. */
  apply(event: UserEventEntry): void {
    if (this.cursor !== undefined && !isAfter(event.cursor, this.cursor)) return;
    this.cursor = event.cursor;
    if (event.type === "user.deleted") this.remove(event.user.id);
    else this.put(event.user);
    this.touched?.set(event.user.id, event.cursor);
    this.emit({ kind: "event", event });
  }

  private replaceRange(page: UsersPage): void {
    const users = decodeUsersPage(page);
    const end = page.next ?? Number.POSITIVE_INFINITY;
    const inPage = new Set(users.map((user) => user.id));
    const from = this.indexAfter(page.after);
    const stale: number[] = [];
    for (let i = from; i < this.sorted.length && this.sorted[i]! <= end; i++) {
      const id = this.sorted[i]!;
      if (!inPage.has(id) && !this.touched?.has(id)) stale.push(id);
    }
    for (const id of stale) this.remove(id);
    for (const user of users) if (!this.touched?.has(user.id)) this.put(user);
  }

  private put(user: UserRecord): void {
    if (!this.byId.has(user.id)) {
      // Pages and new users arrive in id order: appending is the usual case.
      const at = this.sorted.length === 0 || this.sorted[this.sorted.length - 1]! < user.id ? this.sorted.length : this.indexAfter(user.id - 1);
      this.sorted.splice(at, 0, user.id);
    }
    this.byId.set(user.id, user);
  }

  private remove(id: number): void {
    if (!this.byId.delete(id)) return;
    this.sorted.splice(this.indexAfter(id - 1), 1);
  }

  /** Index of the first id greater than `id`. */
  private indexAfter(id: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private emit(change: UsersChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
