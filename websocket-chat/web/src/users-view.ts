import type { UserRecord } from "../../src/contracts/events.js";
import { h } from "./dom.js";
import type { ChatSession } from "./session.js";
import { createUsersApi } from "./users-api.js";
import { createUsersFeed } from "./users-feed.js";
import { createUserForm } from "./users-form.js";
import { createEventLog } from "./users-log.js";
import { UsersModel } from "./users-model.js";
import { createUsersWindow } from "./users-window.js";

export interface UsersViewOptions {
  session: ChatSession;
  notify: (text: string, kind: "info" | "error") => void;
  token: () => string | undefined;
}

/**
 * The live users table and the event log. The table is a window over every user the feed knows
 * (users-window.ts), so 200,000 users cost no more to draw than 50. A snapshot is read page by
 * page; after a reconnect the page asks only for what it missed since its cursor; when the feed
 * says its stream was reset (a Redis wipe), the page starts over by itself.
 */
export function createUsersView({ session, notify, token }: UsersViewOptions): HTMLElement {
  const model = new UsersModel({
    subscribe: (since) => session.request("users:subscribe", since ? { since } : {}),
    page: (after) => session.request("users:page", { after }),
  });
  const api = createUsersApi(token);
  const form = createUserForm(api);
  const table = createUsersWindow(model, { edit: (user) => form.startEditing(user), remove: (user) => void remove(user) });
  const log = createEventLog();
  const empty = h("p", { class: "muted empty" }, "Waiting for the users feed…");
  const count = h("span", { class: "muted" });
  const feed = createUsersFeed({
    session,
    model,
    notify,
    onLoaded: () => updateCount(),
    onUnavailable: (message) => void (empty.textContent = message),
  });

  const root = h(
    "section",
    { class: "users-layout" },
    h(
      "main",
      { class: "users-main" },
      h("header", { class: "section-header" }, h("h2", {}, "Users"), count, feed.element),
      form.element,
      h("div", { class: "table-wrap card" }, table.element, empty),
    ),
    log.element,
  );

  function updateCount() {
    count.textContent = `${model.size.toLocaleString()} ${model.size === 1 ? "user" : "users"}`;
    empty.hidden = model.size > 0;
    empty.textContent = "No users yet: create one above.";
    table.refresh();
  }

  async function remove(user: UserRecord) {
    try {
      await api("DELETE", `/${user.id}`);
    } catch (error) {
      notify(`Could not delete ${user.name}: ${(error as Error).message}`, "error");
    }
  }

  model.onChange((change) => {
    if (change.kind === "event") {
      const { event } = change;
      if (event.type === "user.deleted" && form.editing() === event.user.id) form.stopEditing();
      if (event.type !== "user.deleted") table.flash(event.user.id, event.type === "user.created" ? "added" : "updated");
      log.add(event);
    } else if (!change.done) {
      feed.showProgress();
    }
    updateCount();
  });
  return root;
}
