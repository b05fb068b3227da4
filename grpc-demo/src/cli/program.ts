import { resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { CommandContext } from "./commands.js";

// Each command imports what it uses when it runs (grpc-js, the generated client, the health
// client), so `--help` and a single call load no more than they need: start-up is most of a call.
const commands = () => import("./commands.js");

interface GlobalOptions {
  target: string;
  deadline: number;
  token?: string;
  json: boolean;
}

const integer = (value: string) => {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n)) throw new InvalidArgumentError(`'${value}' is not an integer`);
  return n;
};
const positive = (value: string) => {
  const n = integer(value);
  if (n <= 0) throw new InvalidArgumentError(`'${value}' must be greater than 0`);
  return n;
};
const integers = (value: string, previous: number[] = []) => [...previous, integer(value)];

async function healthChecker(target: string) {
  const [{ HealthChecker }, { resolveTarget }] = await Promise.all([import("../client/health.js"), import("../client/target.js")]);
  return new HealthChecker(await resolveTarget(target));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The `userctl` command line. Every command exits non-zero with the status code and details
 * on failure. `--target` takes one address or a comma list (client-side round_robin).
 */
export function buildProgram(): Command {
  const program = new Command("userctl")
    .description("Call the clusterkit UserService: every RPC type, from one command line")
    .addOption(
      new Option("-t, --target <address>", "host:port, or a comma list for client-side round_robin")
        .env("USERS_TARGET")
        .default("127.0.0.1:50051"),
    )
    .addOption(new Option("-d, --deadline <ms>", "deadline per call").argParser(positive).default(5000))
    .addOption(new Option("--token <token>", "bearer token for mutating calls").env("USERS_AUTH_TOKEN"))
    .option("--json", "print one JSON object per line", false)
    .showHelpAfterError();

  const withClient: WithClient = (run) => async () => {
    const opts = program.opts<GlobalOptions>();
    const [{ Output }, { connectUsers }] = await Promise.all([import("./output.js"), import("../client/connect.js")]);
    const out = new Output(opts.json);
    const client = await connectUsers(opts.target, { token: opts.token });
    try {
      await run({ client, out, deadlineMs: opts.deadline }, opts);
    } catch (error) {
      out.error(error);
      process.exitCode = 1;
    } finally {
      client.close();
    }
  };

  addCrudCommands(program, withClient);
  addStreamingCommands(program, withClient);
  addToolCommands(program, withClient);
  return program;
}

/** Runs a command with a connected client: errors print their status and set the exit code. */
type WithClient = (run: (ctx: CommandContext, opts: GlobalOptions) => Promise<unknown>) => () => Promise<void>;

/** get, list, create, update, delete: one call each (list streams its page). */
function addCrudCommands(program: Command, withClient: WithClient): void {
  program.command("get").argument("<id>", "user id", integer).description("GetUser (unary)")
    .action((id: number) => withClient(async (ctx) => (await commands()).getUser(ctx, id))());

  program.command("list").description("ListUsers (server streaming)")
    .option("--page-size <n>", "at most n users (0: all)", integer, 0)
    .option("--page-token <token>", "continue after a previous page", "")
    .option("--filter <text>", "case-insensitive name filter", "")
    .action((o: { pageSize: number; pageToken: string; filter: string }) =>
      withClient(async (ctx) => (await commands()).listUsers(ctx, { pageSize: o.pageSize, pageToken: o.pageToken, nameFilter: o.filter }))(),
    );

  program.command("create").argument("<name>").argument("<email>").description("CreateUser (unary)")
    .action((name: string, email: string) => withClient(async (ctx) => (await commands()).createUser(ctx, name, email))());

  program.command("update").argument("<id>", "user id", integer).description("UpdateUser (unary)")
    .option("--name <name>").option("--email <email>")
    .action((id: number, o: { name?: string; email?: string }) => withClient(async (ctx) => (await commands()).updateUser(ctx, id, o))());

  program.command("delete").argument("<id>", "user id", integer).description("DeleteUser (unary)")
    .action((id: number) => withClient(async (ctx) => (await commands()).deleteUser(ctx, id))());
}

/** subscribe, import, lookup: the long-lived and client/bidi streaming RPCs. */
function addStreamingCommands(program: Command, withClient: WithClient): void {

  program.command("subscribe").description("SubscribeToUpdates (server streaming); resumes from its last cursor when the connection drops")
    .option("--since <cursor>", "replay everything after this cursor first", "")
    .option("--count <n>", "exit after n updates (0: until Ctrl-C)", integer, 0)
    .action((o: { since: string; count: number }) =>
      withClient(async (ctx) => {
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        try {
          const [{ followUpdates }, { by }] = await Promise.all([import("./subscribe.js"), import("./output.js")]);
          await followUpdates(ctx.client, ctx.out, {
            since: o.since,
            count: o.count,
            signal: abort.signal,
            onReady: (servedBy) => ctx.out.note(`subscribed; waiting for changes (Ctrl-C to stop)${by(servedBy)}`),
          });
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
        }
      })(),
    );

  program.command("import").argument("<file>", "JSON Lines or CSV (name,email); - for stdin")
    .description("ImportUsers (client streaming)")
    .action((file: string) => withClient(async (ctx) => {
      // `npm run grpc` runs in the repository root: a relative path means where npm was typed.
      const path = file === "-" ? file : resolve(process.env.INIT_CWD ?? process.cwd(), file);
      const result = await (await commands()).importUsers(ctx, path, readStdin);
      if (result.failedCount > 0) process.exitCode = 2;
    })());

  program.command("lookup").argument("<ids...>", "user ids", integers).description("LookupUsers (bidirectional streaming)")
    .action((ids: number[]) => withClient(async (ctx) => (await commands()).lookupUsers(ctx, ids))());

}

/** health and the demo walk. */
function addToolCommands(program: Command, withClient: WithClient): void {
  program.command("health").description("grpc.health.v1 Check").option("--service <name>", "service name", "")
    .action((o: { service: string }) =>
      withClient(async (ctx, opts) => {
        const health = await healthChecker(opts.target);
        try {
          const [{ status, servedBy }, { by }] = await Promise.all([health.report(o.service, opts.deadline), import("./output.js")]);
          ctx.out.emit(`${o.service || "(server)"}: ${status}${by(servedBy)}`, { service: o.service, status, servedBy });
          if (status !== "SERVING") process.exitCode = 1;
        } finally {
          health.close();
        }
      })(),
    );

  program.command("demo").description("walk every RPC type once, like the handout's client")
    .action(() =>
      withClient(async (ctx, opts) => {
        const [health, { runDemo }] = await Promise.all([healthChecker(opts.target), import("./demo.js")]);
        try {
          await runDemo(ctx, health);
        } finally {
          health.close();
        }
      })(),
    );
}
