import { status, type ServiceError } from "@grpc/grpc-js";
import type { User } from "../gen/userservice/v1/user_service.js";

/**
 * Characters a terminal may act on instead of showing: C0 controls (ESC starts ANSI sequences,
 * CR rewrites the line), DEL, C1 controls (U+009B is a one-character CSI), the line and paragraph
 * separators, bidirectional overrides and isolates (they reorder what follows), and lone
 * surrogates. Names and emails come from whoever created the user, so they may hold any of them.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** `text` with every character a terminal could act on written as an escape (`\x1b`, `\u{202e}`). */
export function printable(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const code = char.charCodeAt(0);
    return NAMED[char] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`);
  });
}

/** JSON whose strings carry none of those characters raw (JSON.stringify leaves C1, bidi and U+2028 as they are). */
function safeJson(data: unknown): string {
  return JSON.stringify(data).replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Where the CLI prints: human lines, or one JSON object per line with --json; nothing is printed raw. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
    private readonly err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  /** A heading for human readers; nothing in JSON mode. */
  section(title: string): void {
    if (!this.json) this.out(`\n== ${printable(title)} ==`);
  }

  /** A line for humans, or `data` as JSON. */
  emit(human: string, data: unknown): void {
    this.out(this.json ? safeJson(data) : printable(human));
  }

  note(message: string): void {
    if (this.json) this.err(safeJson({ note: message }));
    else this.err(printable(message));
  }

  error(error: unknown): void {
    const serviceError = error as Partial<ServiceError>;
    if (typeof serviceError.code === "number") {
      const code = status[serviceError.code] ?? String(serviceError.code);
      if (this.json) this.err(safeJson({ error: { code, details: serviceError.details } }));
      else this.err(printable(`error: ${code}: ${serviceError.details}`));
    } else {
      const message = error instanceof Error ? error.message : String(error);
      this.err(this.json ? safeJson({ error: { message } }) : printable(`error: ${message}`));
    }
  }
}

/** The `  [served by …]` suffix every command prints: the replica that answered (its `x-served-by` header). */
export function by(servedBy: string | undefined): string {
  return servedBy ? `  [served by ${servedBy}]` : "";
}

/** One user as a human line. */
export function describeUser(user: User | undefined): string {
  if (!user) return "(no user)";
  const created = user.createTime ? user.createTime.toISOString() : "?";
  return `#${user.id} ${user.name} <${user.email}> created ${created}`;
}

/** A user as plain JSON (dates as ISO strings). */
export function userJson(user: User | undefined): Record<string, unknown> | null {
  if (!user) return null;
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    createTime: user.createTime?.toISOString(),
    updateTime: user.updateTime?.toISOString(),
  };
}
