/**
 * Profile `grpc` in real containers: users x2 over one Redis behind the gRPC front door on :9000,
 * as `npm start` runs it: Envoy where its image exists, else nginx (nginx/grpc.conf) in its place.
 * Every client, on the host and in the network, uses that one address.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectUsers, unary, type CreateUserResponse, type GetUserResponse, type UserServiceClient } from "grpc-demo/client";
import { followUserUpdates } from "@clusterkit/test-kit/users";
import { Kit, docker, frontDoor } from "./support/kit.js";
import { CliContainer, runCli, servedByFromNetwork } from "./support/cli.js";

describe.skipIf(!inject("dockerAvailable"))(`grpc profile (users x2 behind ${frontDoor().service} on :9000)`, () => {
  let kit: Kit;
  let client: UserServiceClient;
  let hostTarget: string;

  beforeAll(async () => {
    const door = frontDoor();
    kit = await Kit.start({ profile: "grpc", extraProfiles: door.profiles, services: ["redis", "users", door.service], scale: { users: 2 } });
    const [front] = await kit.containers(door.service);
    if (!front) throw new Error(`no ${door.service} container was started`);
    // One address, as `npm start` prints it: any spreading is the front door's.
    hostTarget = `127.0.0.1:${await kit.hostPort(front.id, 9000)}`;
    client = await connectUsers(hostTarget);
  });

  afterAll(async () => {
    client?.close();
    await kit?.down();
  });

  const getUser = (id: number) => unary<GetUserResponse>((cb) => client.getUser({ id }, cb));

  it("spreads the calls of one client of localhost:<door> over both replicas (counted by x-served-by)", async () => {
    const replicas = await kit.containers("users");
    const servedBy = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const { servedBy: by } = await getUser(1);
      servedBy.set(by ?? "?", (servedBy.get(by ?? "?") ?? 0) + 1);
    }
    expect([...servedBy.keys()].sort()).toEqual(replicas.map((r) => r.hostname).sort());
    for (const count of servedBy.values()) expect(count).toBeGreaterThanOrEqual(5);
  });

  it("puts a replica added with --scale users=3 into the rotation, with no other change", async () => {
    await kit.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "users=3", "users");
    const replicas = await kit.waitHealthy("users", 3);
    // The front door re-resolves `users` (Envoy: STRICT_DNS every 5 s; nginx: resolver valid=5s).
    let seen: Record<string, number> = {};
    const deadline = Date.now() + 30_000;
    while (Object.keys(seen).length < 3 && Date.now() < deadline) seen = await servedByFromNetwork(kit, 30);
    expect(Object.keys(seen).sort()).toEqual(replicas.map((r) => r.hostname).sort());
    await kit.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "users=2", "users");
    await kit.waitHealthy("users", 2);
  });

  it("keeps `subscribe` through the front door going across a `docker restart` of every users replica", async () => {
    const replicas = await kit.waitHealthy("users", 2);
    const updates = followUserUpdates(client, { maxBackoffMs: 1_000, timeoutMs: 60_000, pollMs: 100 });
    const names = () => updates.names();
    try {
      await updates.until(() => updates.opened === 1, "subscription");
      await unary<CreateUserResponse>((cb) => client.createUser({ name: "pre-restart", email: "pre-restart@example.com" }, cb));
      await updates.until(() => names().includes("pre-restart"), "update before the restarts");
      // Each in turn: SIGTERM (the replica drains and ends its streams), then the same container back.
      for (const replica of replicas) {
        await docker("restart", "-t", "15", replica.id);
        await kit.waitHealthy("users", 2, 120_000);
      }
      await unary<CreateUserResponse>((cb) => client.createUser({ name: "post-restart", email: "post-restart@example.com" }, cb));
      await updates.until(() => names().includes("post-restart"), "update after the restarts");
    } finally {
      await updates.stop();
    }
    expect(names()).toEqual(["pre-restart", "post-restart"]);
    // The stream's replica was restarted under it: it was reopened through the same front door.
    expect(updates.opened).toBeGreaterThanOrEqual(2);
    expect(updates.notes.join("\n")).toMatch(/stream dropped .*resuming from \d+-\d+/);
  });

  it("keeps answering when a replica dies, and a subscriber resumes from its cursor", async () => {
    const [first, second] = await kit.waitHealthy("users", 2);
    const subscriber = await CliContainer.start(kit, ["--json", "subscribe"]);
    try {
      await subscriber.waitFor('"note":"subscribed');

      // A long-lived client keeps reading while the first replica is killed.
      const failures: unknown[] = [];
      const servedAfterKill = new Set<string>();
      let killed = false;
      let reading = true;
      const reader = (async () => {
        while (reading) {
          const afterKill = killed;
          try {
            const { servedBy } = await getUser(1);
            if (afterKill && servedBy) servedAfterKill.add(servedBy);
          } catch (error) {
            failures.push(error);
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      await docker("kill", first!.id);
      killed = true;
      const names = ["ada", "grace", "linus"];
      for (const name of names) {
        const created = await runCli(kit, ["--json", "create", name, `${name}@example.com`]);
        expect(created.code, created.stderr).toBe(0);
      }
      reading = false;
      await reader;
      expect(failures).toEqual([]);
      expect([...servedAfterKill]).toEqual([second!.hostname]);

      // Replace it, then kill the other original: whichever replica the subscriber was on is gone now.
      await kit.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "users=2", "users");
      await kit.waitHealthy("users", 2);
      await docker("kill", second!.id);
      for (const name of ["barbara", "ken"]) {
        const created = await runCli(kit, ["--json", "create", name, `${name}@example.com`]);
        expect(created.code, created.stderr).toBe(0);
        names.push(name);
      }

      const events = await subscriber.waitForLines(names.length, 60_000);
      expect(events.map((e) => e.user.name)).toEqual(names);
      expect(events.every((e) => e.action === "created")).toBe(true);
      const cursors = events.map((e) => e.cursor);
      expect(new Set(cursors).size).toBe(cursors.length);
      expect(await subscriber.stderr()).toMatch(/stream dropped .*resuming from \d+-\d+/);
    } finally {
      await subscriber.stop();
    }
  });

  it("runs the user service as a non-root user and keeps Redis unpublished", async () => {
    const [users] = (await kit.containers("users")).filter((c) => c.running);
    expect(await docker("exec", users!.id, "id", "-u")).not.toBe("0");
    const [redis] = await kit.containers("redis");
    expect(await docker("port", redis!.id)).toBe("");
  });

  it("stops a replica promptly on SIGTERM (docker stop)", async () => {
    const stopped = await kit.stopOne("users", 20);
    expect(stopped.ms).toBeLessThan(12_000);
    expect(stopped.exitCode).not.toBe(137); // 137 = SIGKILL after the grace period: SIGTERM was not handled
  });
});
