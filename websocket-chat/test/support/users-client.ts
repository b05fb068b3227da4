import type { UserRecord } from "../../src/contracts/events.js";
import { decodeUsersPage } from "../../src/contracts/users-page.js";
import { UsersModel } from "../../web/src/users-model.js";
import { type ChatClient, ok } from "@clusterkit/test-kit/chat";

/** A whole snapshot read page by page over `socket`, as a page does (no live events applied). */
export async function readSnapshot(socket: ChatClient): Promise<{ users: UserRecord[]; pageBytes: number[]; cursor: string; total: number }> {
  const reply = await ok(socket, "users:subscribe", {});
  if (reply.mode !== "snapshot") throw new Error(`expected a snapshot, got ${reply.mode}`);
  const users: UserRecord[] = [];
  const pageBytes: number[] = [];
  let page = reply.page;
  for (;;) {
    users.push(...decodeUsersPage(page));
    pageBytes.push(page.users.byteLength);
    if (page.next === null) break;
    page = (await ok(socket, "users:page", { after: page.next })).page;
  }
  return { users, pageBytes, cursor: reply.cursor, total: reply.total };
}

/** The page's own users model (web/src/users-model.ts) over `socket`, wired as the view wires it. */
export function usersModelOn(socket: ChatClient): UsersModel {
  const model = new UsersModel({
    subscribe: (since) => ok(socket, "users:subscribe", since ? { since } : {}),
    page: (after) => ok(socket, "users:page", { after }),
  });
  socket.on("users:event", (event) => model.apply(event));
  socket.on("users:reset", () => {
    model.reset();
    // A failure shows in the test that waits for the model to be current.
    model.subscribe().catch(() => undefined);
  });
  return model;
}

/** Users in the model, in id order. */
export function usersIn(model: UsersModel): UserRecord[] {
  return model.ids.map((id) => model.get(id)!);
}
