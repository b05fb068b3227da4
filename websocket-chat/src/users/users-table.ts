import type { UserRecord } from "./users-contract.js";

/** One page of the users table as it goes on the wire. */
export interface EncodedPage {
  /** UTF-8 JSON array of the page's users, ids ascending. Shared: never modify it. */
  data: Buffer;
  /** Id of the page's last user when more follow; null on the last page. */
  next: number | null;
  /** Users in the page. */
  count: number;
}

export interface UsersTableOptions {
  /** Largest encoded page; a page always holds at least one user. */
  pageBytes: number;
  /** Bytes of encoded pages kept for the next subscriber who asks for the same one (least recently used go first). @default 33554432 */
  cacheBytes?: number;
  /** Counts every page encoded (not served from the cache). */
  onEncode?: () => void;
}

/**
 * The users a replica knows, in id order, served as pages of bounded size. A page is encoded
 * once and the same bytes go to every page that asks for it (Socket.IO sends a Buffer as a binary
 * attachment, so every socket's queue references them instead of holding its own copy). A change
 * drops only the cached pages whose range it falls in, so the cache stays exact: a cached page is
 * what encoding it now would give.
 */
export class UsersTable {
  private readonly byId = new Map<number, UserRecord>();
  /** Ids ascending. New users get the next id, so inserting is an append in practice. */
  private ids: number[] = [];
  /** Cached pages by the id they start after, oldest use first (Map order). */
  private readonly pages = new Map<number, EncodedPage>();
  private cachedBytes = 0;
  private readonly cacheBytes: number;

  constructor(private readonly options: UsersTableOptions) {
    this.cacheBytes = options.cacheBytes ?? 32 * 2 ** 20;
  }

  get size(): number {
    return this.byId.size;
  }

  replaceAll(users: Iterable<UserRecord>): void {
    this.byId.clear();
    for (const user of users) this.byId.set(user.id, user);
    this.ids = [...this.byId.keys()].sort((a, b) => a - b);
    this.pages.clear();
    this.cachedBytes = 0;
  }

  set(user: UserRecord): void {
    if (!this.byId.has(user.id)) {
      const at = this.firstAfter(user.id - 1);
      this.ids.splice(at, 0, user.id);
    }
    this.byId.set(user.id, user);
    this.invalidate(user.id);
  }

  delete(id: number): void {
    if (!this.byId.delete(id)) return;
    this.ids.splice(this.firstAfter(id - 1), 1);
    this.invalidate(id);
  }

  /** Users in id order (for tests and small tables). */
  *values(): IterableIterator<UserRecord> {
    for (const id of this.ids) yield this.byId.get(id)!;
  }

  /** The users with ids greater than `after`, as many as fit in one page. */
  page(after: number): EncodedPage {
    const cached = this.pages.get(after);
    if (cached) {
      // Refresh its place in the least-recently-used order.
      this.pages.delete(after);
      this.pages.set(after, cached);
      return cached;
    }
    const page = this.encode(after);
    this.pages.set(after, page);
    this.cachedBytes += page.data.byteLength;
    for (const [oldest, old] of this.pages) {
      if (this.cachedBytes <= this.cacheBytes) break;
      this.forget(oldest, old);
    }
    return page;
  }

  private encode(after: number): EncodedPage {
    const parts: string[] = [];
    // Brackets and commas: 2 bytes, plus one per user after the first.
    let bytes = 2;
    let i = this.firstAfter(after);
    for (; i < this.ids.length; i++) {
      const json = JSON.stringify(this.byId.get(this.ids[i]!));
      const size = Buffer.byteLength(json) + (parts.length > 0 ? 1 : 0);
      if (parts.length > 0 && bytes + size > this.options.pageBytes) break;
      parts.push(json);
      bytes += size;
    }
    this.options.onEncode?.();
    const next = i < this.ids.length && parts.length > 0 ? this.ids[i - 1]! : null;
    return { data: Buffer.from(`[${parts.join(",")}]`), next, count: parts.length };
  }

  /** Drops the cached pages whose range holds `id`: (after, next], or (after, end) for the last. */
  private invalidate(id: number): void {
    for (const [after, page] of this.pages) {
      if (id > after && (page.next === null || id <= page.next)) this.forget(after, page);
    }
  }

  private forget(after: number, page: EncodedPage): void {
    this.pages.delete(after);
    this.cachedBytes -= page.data.byteLength;
  }

  /** Index of the first id greater than `id` (binary search). */
  private firstAfter(id: number): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[mid]! <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
