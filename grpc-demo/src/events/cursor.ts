/** Redis stream ids ("<ms>-<seq>") as ordered cursors. */

const CURSOR = /^(\d{1,20})-(\d{1,20})$/;

export interface ParsedCursor {
  ms: bigint;
  seq: bigint;
}

/** Parses "<ms>-<seq>" (a bare "<ms>" means "<ms>-0"); null when malformed. */
export function parseCursor(cursor: string): ParsedCursor | null {
  const full = /^\d{1,20}$/.test(cursor) ? `${cursor}-0` : cursor;
  const match = CURSOR.exec(full);
  if (!match) return null;
  return { ms: BigInt(match[1]!), seq: BigInt(match[2]!) };
}

/** Orders two valid cursors: negative when a < b, 0 when equal, positive when a > b. */
export function compareCursors(a: string, b: string): number {
  const pa = parseCursor(a);
  const pb = parseCursor(b);
  if (!pa || !pb) throw new Error(`cannot compare cursors '${a}' and '${b}'`);
  if (pa.ms !== pb.ms) return pa.ms < pb.ms ? -1 : 1;
  if (pa.seq !== pb.seq) return pa.seq < pb.seq ? -1 : 1;
  return 0;
}
