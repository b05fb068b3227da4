import type { Metadata } from "@grpc/grpc-js";
import { servedByOf } from "../client/calls.js";
import type { HealthChecker } from "../client/health.js";
import { UserAction, type SubscribeToUpdatesResponse } from "../gen/userservice/v1/user_service.js";
import { createUser, deleteUser, getUser, importRows, listUsers, lookupUsers, updateUser, type CommandContext } from "./commands.js";
import { by, describeUser } from "./output.js";
import { actionName } from "./subscribe.js";

/**
 * Walks every RPC type once, like the handout's client, but against the real service: each
 * step prints what it called and what came back, and the subscription started first shows the
 * demo's own changes arriving as they happen. It deletes the users it created before it exits,
 * even when a step fails, so running it again and again leaves the service as it found it.
 */
export async function runDemo(ctx: CommandContext, health: HealthChecker): Promise<void> {
  const { out, client } = ctx;
  out.section("Health (grpc.health.v1)");
  const checked = await health.report("userservice.v1.UserService", ctx.deadlineMs);
  out.emit(`UserService v1: ${checked.status}${by(checked.servedBy)}`, { health: checked.status, servedBy: checked.servedBy });

  out.section("Server streaming: SubscribeToUpdates (opened first, runs through the demo)");
  // Every user the demo creates carries this suffix in its email: the cleanup deletes those only.
  const suffix = Date.now().toString(36);
  const ours = new Set<number>();
  const updates: SubscribeToUpdatesResponse[] = [];
  const subscription = client.subscribeToUpdates({ sinceCursor: "" });
  subscription.on("data", (update: SubscribeToUpdatesResponse) => {
    updates.push(update);
    const user = update.user;
    if (!user) return;
    if (update.action === UserAction.USER_ACTION_CREATED && user.email.includes(`.${suffix}@`)) ours.add(user.id);
    if (update.action === UserAction.USER_ACTION_DELETED) ours.delete(user.id);
  });
  subscription.on("error", () => undefined);
  const servedBy = await new Promise<string | undefined>((resolve, reject) => {
    subscription.once("metadata", (metadata: Metadata) => resolve(servedByOf(metadata)));
    subscription.once("error", reject);
  });
  out.emit(`subscribed; changes below will arrive on this stream${by(servedBy)}`, { subscribed: true, servedBy });

  let id = 0;
  try {
    out.section("Unary: GetUser(1)");
    await getUser(ctx, 1);

    out.section("Server streaming: ListUsers");
    await listUsers(ctx, { pageSize: 10, pageToken: "", nameFilter: "" });

    out.section("Unary: CreateUser");
    id = await createUser(ctx, "Charlie", `charlie.${suffix}@example.com`);

    out.section("Unary: UpdateUser");
    await updateUser(ctx, id, { name: "Charlie Brown" });

    out.section("Client streaming: ImportUsers (3 rows, one bad)");
    await importRows(ctx, [
      { name: "Dana", email: `dana.${suffix}@example.com` },
      { name: "Erin", email: `erin.${suffix}@example.com` },
      { name: "", email: `nobody.${suffix}@example.com` },
    ]);

    out.section("Bidirectional streaming: LookupUsers(1, new id, 999999)");
    await lookupUsers(ctx, [1, id, 999_999]);

    out.section("Unary: DeleteUser");
    await deleteUser(ctx, id);
    id = 0;

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
  } finally {
    subscription.cancel();
    if (id) ours.add(id);
    if (ours.size > 0) {
      out.section("Cleanup: deleting the users the demo created");
      for (const created of ours) await deleteUser(ctx, created);
    }
  }
  out.section("Done: unary, server streaming, client streaming and bidirectional streaming all answered");
}
