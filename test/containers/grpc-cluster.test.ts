/**
 * Profile `grpc` in real containers: users x2 over one Redis (and Envoy where its image exists).
 * Without Envoy (no image here), clients balance themselves: client-side round_robin over the
 * replicas' published ports from the host, and over the compose DNS name from inside the network.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectUsers, unary, type GetUserResponse, type UserServiceClient } from "grpc-demo/client";
import { Kit, docker } from "./support/kit.js";
import { CliContainer, runCli, servedByFromNetwork } from "./support/cli.js";

describe.skipIf(!inject("dockerAvailable"))("grpc profile (users x2)", () => {
  let kit: Kit;
  let client: UserServiceClient;
  let hostTarget: string;

  beforeAll(async () => {
    kit = await Kit.start({ profile: "grpc", services: ["redis", "users"], scale: { users: 2 } });
    if (kit.envoyAvailable) {
      const [envoy] = await kit.containers("envoy");
      hostTarget = `127.0.0.1:${await kit.hostPort(envoy!.id, 9000)}`;
    } else {
      const replicas = await kit.waitHealthy("users", 2);
      const ports = await Promise.all(replicas.map((r) => kit.hostPort(r.id, 50051)));
      hostTarget = ports.map((p) => `127.0.0.1:${p}`).join(",");
    }
    client = await connectUsers(hostTarget);
  });

  afterAll(async () => {
    client?.close();
    await kit?.down();
  });

  const getUser = (id: number) => unary<GetUserResponse>((cb) => client.getUser({ id }, cb));

  it("spreads calls over both replicas (counted by x-served-by)", async () => {
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
    // A fresh channel resolves the name again (through Envoy: STRICT_DNS refreshes every 5 s).
    let seen: Record<string, number> = {};
    const deadline = Date.now() + 30_000;
    while (Object.keys(seen).length < 3 && Date.now() < deadline) seen = await servedByFromNetwork(kit, 30);
    expect(Object.keys(seen).sort()).toEqual(replicas.map((r) => r.hostname).sort());
    await kit.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "users=2", "users");
    await kit.waitHealthy("users", 2);
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
    const [victim] = (await kit.containers("users")).filter((c) => c.running);
    const started = Date.now();
    await docker("stop", "-t", "20", victim!.id);
    expect(Date.now() - started).toBeLessThan(12_000);
    const exit = JSON.parse(await docker("inspect", "--format", "{{json .State.ExitCode}}", victim!.id)) as number;
    expect(exit).not.toBe(137); // 137 = SIGKILL after the grace period: SIGTERM was not handled
  });
});
