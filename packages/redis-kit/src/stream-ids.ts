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
  const pa = parseStreamId(a);
  const pb = parseStreamId(b);
  if (!pa || !pb) throw new Error(`cannot compare stream ids '${a}' and '${b}'`);
  if (pa.ms !== pb.ms) return pa.ms < pb.ms ? -1 : 1;
  if (pa.seq !== pb.seq) return pa.seq < pb.seq ? -1 : 1;
  return 0;
}
