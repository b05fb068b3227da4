import { UserError } from "../store/user-errors.js";

/*
 * Page tokens are opaque to clients (base64url of "after:<id>"), so the paging scheme can
 * change without breaking anyone who just passes next_page_token back.
 */

export function encodePageToken(afterId: number): string {
  return Buffer.from(`after:${afterId}`).toString("base64url");
}

export function decodePageToken(token: string): number {
  const match = /^after:(\d{1,10})$/.exec(Buffer.from(token, "base64url").toString());
  if (!match) throw new UserError("INVALID_ARGUMENT", "page_token is not a token returned by ListUsers", "page_token");
  return Number(match[1]);
}
