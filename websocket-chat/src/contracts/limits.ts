/** Limits the server enforces and the browser client mirrors (no zod here: the page imports it). */

/** Longest room or private message, in characters (UTF-16 code units). */
export const MAX_MESSAGE_CHARS = 2000;

/** Nicknames: letters, digits, `_ . -`, 2 to 32 characters. */
export const NICKNAME_PATTERN = /^[\p{L}\p{N}_.-]{2,32}$/u;

/** Room names: letters, digits, `_ . -`, 1 to 64 characters. */
export const ROOM_PATTERN = /^[\p{L}\p{N}_.-]{1,64}$/u;

/** Rooms one socket may be in at once (kit dialect and handout dialect each). */
export const MAX_ROOMS_PER_SOCKET = 50;
