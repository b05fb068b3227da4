/**
 * A user-supplied string made safe to echo in an error message: at most `max` characters
 * (cut between code points, never inside a surrogate pair), control characters and lone
 * surrogates escaped. gRPC carries details in a header, and a lone surrogate there fails the
 * encoding: the client would never get its status.
 */
export function quote(text: string, max = 60): string {
  const points = [...text];
  const cut = points.length > max ? `${points.slice(0, max - 3).join("")}...` : text;
  return JSON.stringify(cut).slice(1, -1);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Replaces lone surrogates with U+FFFD (String.prototype.toWellFormed, typed for ES2023). */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, "\ufffd");
}
