import { beforeAll, describe, expect, it } from "vitest";
import { unary, type CreateUserResponse } from "../src/client/index.js";
import { buildCli, runCli } from "./support/run-cli.js";
import { useUserCluster } from "./support/user-cluster.js";

const cluster = useUserCluster(2, { authToken: "cli-token" });
beforeAll(buildCli, 180_000);

const targets = () => cluster.replicas.map((r) => r.target).join(",");
const cli = (args: string[], input?: string) => runCli(["--target", targets(), "--token", "cli-token", ...args], input);

describe("userctl", () => {
  it("demo walks every RPC type and exits 0", async () => {
    const run = cli(["demo"]);
    expect(await run.exited).toBe(0);
    const out = run.stdout();
    for (const heading of [
      "Unary: GetUser(1)",
      "Server streaming: ListUsers",
      "Unary: CreateUser",
      "Unary: UpdateUser",
      "Client streaming: ImportUsers",
      "Bidirectional streaming: LookupUsers",
      "Unary: DeleteUser",
      "Server streaming: SubscribeToUpdates",
    ]) {
      expect(out).toContain(heading);
    }
    expect(out).toMatch(/created: #\d+ Charlie/);
    expect(out).toMatch(/deleted: #\d+ Charlie Brown/);
    expect(out).toMatch(/served by users-1/);
    expect(out).toMatch(/served by users-2/);
  });

  it("demo deletes the users it created before it exits", async () => {
    const run = cli(["demo"]);
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toMatch(/Cleanup[\s\S]*deleted #\d+ Dana[\s\S]*deleted #\d+ Erin/);
    for (const name of ["Charlie", "Dana", "Erin"]) {
      const left = cli(["list", "--filter", name]);
      expect(await left.exited).toBe(0);
      expect(left.stdout()).toMatch(/^0 user\(s\)/m);
    }
  });

  it("every command names the replica that answered: [served by …]", async () => {
    const servedBy = /\[served by users-[12]\]/;
    const runs = {
      get: cli(["get", "1"]),
      list: cli(["list", "--page-size", "1"]),
      lookup: cli(["lookup", "1", "2"]),
      health: cli(["health"]),
      import: cli(["import", "-"], "Rita,rita@example.com\n"),
    };
    for (const [command, run] of Object.entries(runs)) {
      expect(await run.exited, command).toBe(0);
      expect(run.stdout(), command).toMatch(servedBy);
    }
    const created = cli(["create", "Sam", "sam@example.com"]);
    expect(await created.exited).toBe(0);
    expect(created.stdout()).toMatch(servedBy);
    const id = /#(\d+) Sam/.exec(created.stdout())![1]!;
    for (const args of [["update", id, "--name", "Samuel"], ["delete", id]]) {
      const run = cli(args);
      expect(await run.exited, args[0]).toBe(0);
      expect(run.stdout(), args[0]).toMatch(servedBy);
    }
    const subscribe = cli(["subscribe", "--count", "1"]);
    await subscribe.waitFor("subscribed");
    expect(subscribe.stderr()).toMatch(servedBy);
    subscribe.child.kill("SIGINT");
    expect(await subscribe.exited).toBe(0);
  });

  it("get, create, update, list, lookup and delete print results; --json prints JSON lines", async () => {
    const created = cli(["--json", "create", "Olivia", "olivia@example.com"]);
    expect(await created.exited).toBe(0);
    const id = (JSON.parse(created.stdout()) as { created: { id: number } }).created.id;
    expect(await cli(["update", String(id), "--name", "Liv"]).exited).toBe(0);
    const got = cli(["get", String(id)]);
    expect(await got.exited).toBe(0);
    expect(got.stdout()).toContain(`#${id} Liv <olivia@example.com>`);
    const listed = cli(["list", "--filter", "liv"]);
    expect(await listed.exited).toBe(0);
    expect(listed.stdout()).toMatch(/1 user\(s\)/);
    const looked = cli(["lookup", "1", String(id)]);
    expect(await looked.exited).toBe(0);
    expect(looked.stdout()).toContain("Alice");
    expect(await cli(["delete", String(id)]).exited).toBe(0);
  });

  it("prints the status code and details and exits non-zero on errors", async () => {
    const missing = cli(["get", "987654"]);
    expect(await missing.exited).toBe(1);
    expect(missing.stderr()).toContain("error: NOT_FOUND: user 987654 not found");
    const invalid = cli(["create", "Bad", "not-an-email"]);
    expect(await invalid.exited).toBe(1);
    expect(invalid.stderr()).toContain("error: INVALID_ARGUMENT: email 'not-an-email' is not a valid email address");
    const anonymous = runCli(["--target", targets(), "delete", "1"]);
    expect(await anonymous.exited).toBe(1);
    expect(anonymous.stderr()).toContain("error: UNAUTHENTICATED");
  });

  it("finding 11.9: answers a 20-digit id with INVALID_ARGUMENT, not INTERNAL", async () => {
    const run = cli(["get", "12345678901234567890"]);
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toContain("error: INVALID_ARGUMENT: id must be an integer from -2147483648 to 2147483647");
  });

  it("finding 11.9: prints control characters and ANSI escapes in names escaped, never raw", async () => {
    const name = "Mallory\u001b[2J\u001b[31m\u202eevil\r";
    const created = await unary<CreateUserResponse>((cb) => cluster.clients[0]!.createUser({ name, email: "ansi@example.com" }, cb));
    const id = String(created.response.user!.id);
    for (const args of [["get", id], ["lookup", id], ["--json", "get", id]]) {
      const run = cli(args);
      expect(await run.exited).toBe(0);
      expect(["\u001b", "\r", "\u202e"].filter((raw) => run.stdout().includes(raw))).toEqual([]);
    }
    const human = cli(["get", id]);
    await human.exited;
    expect(human.stdout()).toContain("Mallory\\x1b[2J\\x1b[31m\\u{202e}evil");
  });

  it("imports JSON Lines or CSV from stdin and reports failed rows", async () => {
    const run = cli(["import", "-"], 'name,email\nPaul,paul@example.com\n{"name":"Quinn","email":"quinn@example.com"}\nNobody,bad\n');
    expect(await run.exited).toBe(2);
    expect(run.stdout()).toContain("imported: 2 created, 1 failed of 3 sent");
    // Rows are numbered from 1 as a person counts them (the server's index is 0-based): the third sent.
    expect(run.stdout()).toContain("row 3: INVALID_ARGUMENT");
  });

  it("health exits 0 while SERVING", async () => {
    const run = cli(["health", "--service", "userservice.v1.UserService"]);
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain("userservice.v1.UserService: SERVING");
  });

  it("subscribe resumes from its last cursor on the other replica when its replica dies", async () => {
    const run = cli(["--json", "subscribe", "--count", "4"]);
    await run.waitFor("subscribed");
    const firstReplica = /served by (users-\d)/.exec(run.stderr())?.[1];
    const create = (name: string) =>
      unary<CreateUserResponse>((cb) => cluster.clients[0]!.createUser({ name, email: `${name}@example.com` }, cb));
    await create("before1");
    await create("before2");
    await run.waitFor("before2");
    const serving = cluster.replicas.find((r) => r.server.openSubscriptions > 0)!;
    const other = cluster.replicas.find((r) => r !== serving)!;
    // It names the replica it streams from, and the one it resumes on.
    expect(firstReplica).toBe(`users-${cluster.replicas.indexOf(serving) + 1}`);
    await serving.close();
    await run.waitFor("resuming from");
    await run.waitFor(`served by users-${cluster.replicas.indexOf(other) + 1}`);
    // Written while the subscriber is between replicas: it must still get them, once.
    const writer = cluster.clients[cluster.replicas.indexOf(other)]!;
    for (const name of ["after1", "after2"]) {
      await unary((cb) => writer.createUser({ name, email: `${name}@example.com` }, cb));
    }
    expect(await run.exited).toBe(0);
    const names = run.stdout().trim().split("\n").map((line) => (JSON.parse(line) as { user: { name: string } }).user.name);
    expect(names).toEqual(["before1", "before2", "after1", "after2"]);
  });
});
