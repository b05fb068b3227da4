import { status, type ServiceError } from "@grpc/grpc-js";
import type { User } from "../gen/userservice/v1/user_service.js";

/** Where the CLI prints: human lines, or one JSON object per line with --json. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
    private readonly err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  /** A heading for human readers; nothing in JSON mode. */
  section(title: string): void {
    if (!this.json) this.out(`\n== ${title} ==`);
  }

  /** A line for humans, or `data` as JSON. */
  emit(human: string, data: unknown): void {
    this.out(this.json ? JSON.stringify(data) : human);
  }

  note(message: string): void {
    if (this.json) this.err(JSON.stringify({ note: message }));
    else this.err(message);
  }

  error(error: unknown): void {
    const serviceError = error as Partial<ServiceError>;
    if (typeof serviceError.code === "number") {
      const code = status[serviceError.code] ?? String(serviceError.code);
      if (this.json) this.err(JSON.stringify({ error: { code, details: serviceError.details } }));
      else this.err(`error: ${code}: ${serviceError.details}`);
    } else {
      const message = error instanceof Error ? error.message : String(error);
      this.err(this.json ? JSON.stringify({ error: { message } }) : `error: ${message}`);
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
