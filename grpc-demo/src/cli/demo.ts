import type { SubscribeToUpdatesResponse } from "../gen/userservice/v1/user_service.js";
import { createUser, deleteUser, getUser, listUsers, lookupUsers, updateUser, type CommandContext } from "./commands.js";
import { actionName } from "./subscribe.js";
import { describeUser } from "./output.js";
import type { HealthChecker } from "../client/health.js";

/**
 * Walks every RPC type once, like the handout's client, but against the real service: each
 * step prints what it called and what came back, and the subscription started first shows the
 * demo's own changes arriving as they happen.
 */
export async function runDemo(ctx: CommandContext, health: HealthChecker): Promise<void> {
  const { out, client } = ctx;
  out.section("Health (grpc.health.v1)");
  out.emit(`UserService v1: ${await health.check("userservice.v1.UserService")}`, { health: "SERVING" });

  out.section("Server streaming: SubscribeToUpdates (opened first, runs through the demo)");
  const updates: SubscribeToUpdatesResponse[] = [];
  const subscription = client.subscribeToUpdates({ sinceCursor: "" });
  subscription.on("data", (update: SubscribeToUpdatesResponse) => updates.push(update));
  subscription.on("error", () => undefined);
  await new Promise((resolve, reject) => {
    subscription.once("metadata", resolve);
    subscription.once("error", reject);
  });
  out.emit("subscribed; changes below will arrive on this stream", { subscribed: true });

  out.section("Unary: GetUser(1)");
  await getUser(ctx, 1);

  out.section("Server streaming: ListUsers");
  await listUsers(ctx, { pageSize: 10, pageToken: "", nameFilter: "" });

  out.section("Unary: CreateUser");
  const suffix = Date.now().toString(36);
  const id = await createUser(ctx, "Charlie", `charlie.${suffix}@example.com`);

  out.section("Unary: UpdateUser");
  await updateUser(ctx, id, { name: "Charlie Brown" });

  out.section("Client streaming: ImportUsers (3 rows, one bad)");
  const imported = await new Promise<{ createdCount: number; failedCount: number }>((resolve, reject) => {
    const call = client.importUsers((error, response) => (error ? reject(error) : resolve(response!)));
    call.write({ name: "Dana", email: `dana.${suffix}@example.com` });
    call.write({ name: "Erin", email: `erin.${suffix}@example.com` });
    call.write({ name: "", email: "nobody@example.com" });
    call.end();
  });
  out.emit(`imported: ${imported.createdCount} created, ${imported.failedCount} failed`, imported);

  out.section("Bidirectional streaming: LookupUsers(1, new id, 999999)");
  await lookupUsers(ctx, [1, id, 999_999]);

  out.section("Unary: DeleteUser");
  await deleteUser(ctx, id);

  out.section("Updates received by the subscription");
  const expected = 5; // created, updated, 2 imported, deleted
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${updates.length} of ${expected} updates arrived`)), ctx.deadlineMs);
    const check = () => {
      if (updates.length < expected) return;
      clearTimeout(timer);
      resolve();
    };
    subscription.on("data", check);
    check();
  });
  subscription.cancel();
  for (const update of updates) {
    out.emit(`${actionName(update.action)}: ${describeUser(update.user)}`, { action: actionName(update.action), id: update.user?.id });
  }
  out.section("Done: unary, server streaming, client streaming and bidirectional streaming all answered");
}
