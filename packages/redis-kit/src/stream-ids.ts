/** Redis stream ids ("<ms>-<seq>") as ordered positions: message ids, event cursors. */

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

export interface ParsedStreamId {
  ms: bigint;
  seq: bigint;
}

/** Parses "<ms>-<seq>" (a bare "<ms>" means "<ms>-0", as Redis reads it); null when malformed. */
export function parseStreamId(id: string): ParsedStreamId | null {
  const match = STREAM_ID.exec(/^\d{1,20}$/.test(id) ? `${id}-0` : id);
  if (!match) return null;
  // Both parts are 64-bit in Redis: beyond Number's exact range, hence bigint.
  return { ms: BigInt(match[1]!), seq: BigInt(match[2]!) };
}

/**
 * Orders two stream ids by time, then sequence: negative when a < b, 0 when equal, positive when
 * a > b. Throws on a malformed id: validate ids a client sent with parseStreamId first.
 */
export function compareStreamIds(a: string, b: string): number {
  const fast = compareCanonical(a, b);
  if (fast !== undefined) return fast;
  const pa = parseStreamId(a);
  const pb = parseStreamId(b);
  if (!pa || !pb) throw new Error(`cannot compare stream ids '${a}' and '${b}'`);
  if (pa.ms !== pb.ms) return pa.ms < pb.ms ? -1 : 1;
  if (pa.seq !== pb.seq) return pa.seq < pb.seq ? -1 : 1;
  return 0;
}

/**
 * Where the dash of a canonical id is ("<ms>-<seq>", each part 1 to 20 digits without leading
 * zeros, as Redis writes every id), or -1 for any other form.
 */
function canonicalDash(id: string): number {
  const dash = id.indexOf("-");
  if (dash < 1 || dash > 20 || id.length - dash - 1 < 1 || id.length - dash - 1 > 20) return -1;
  if ((id.charCodeAt(0) === 48 && dash > 1) || (id.charCodeAt(dash + 1) === 48 && id.length - dash > 2)) return -1;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (i !== dash && (c < 48 || c > 57)) return -1;
  }
  return dash;
}

/** Digit strings of equal length order as their numbers do. */
function compareDigits(a: string, b: string, from: number, to: number, offset: number): number {
  for (let i = from; i < to; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i + offset);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * Orders two canonical ids without regular expressions or bigints: the hub compares each event
 * with every subscriber's position, a thousand times per event with a thousand subscribers.
 * undefined when either id is in another form (a client's cursor may be): the exact path decides.
 */
function compareCanonical(a: string, b: string): number | undefined {
  const da = canonicalDash(a);
  const db = canonicalDash(b);
  if (da < 0 || db < 0) return undefined;
  // Without leading zeros, a longer number is a larger one.
  if (da !== db) return da < db ? -1 : 1;
  const ms = compareDigits(a, b, 0, da, 0);
  if (ms !== 0) return ms;
  const sa = a.length - da;
  const sb = b.length - db;
  if (sa !== sb) return sa < sb ? -1 : 1;
  return compareDigits(a, b, da + 1, a.length, 0);
}
