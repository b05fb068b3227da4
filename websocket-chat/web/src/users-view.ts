import type { UserEventEntry, UserRecord } from "../../src/contracts/events.js";
import { h, timeOf } from "./dom.js";
import { AckError, type ChatSession } from "./session.js";
import { UsersModel } from "./users-model.js";
import { createUsersWindow } from "./users-window.js";

export interface UsersViewOptions {
  session: ChatSession;
  notify: (text: string, kind: "info" | "error") => void;
  token: () => string | undefined;
}

const typeLabel: Record<UserEventEntry["type"], string> = {
  "user.created": "created",
  "user.updated": "updated",
  "user.deleted": "deleted",
};

/**
 * The live users table and the event log. The table is a window over every user the feed knows
 * (users-window.ts), so 200,000 users cost no more to draw than 50. A snapshot is read page by
 * page; after a reconnect the page asks only for what it missed since its cursor; when the feed
 * says its stream was reset (a Redis wipe), the page starts over by itself.
 */
export function createUsersView({ session, notify, token }: UsersViewOptions): HTMLElement {
  let editing: number | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const model = new UsersModel({
    subscribe: (since) => session.request("users:subscribe", since ? { since } : {}),
    page: (after) => session.request("users:page", { after }),
  });
  const table = createUsersWindow(model, { edit: (user) => startEditing(user), remove: (user) => void remove(user) });

  const nameInput = h("input", { name: "name", placeholder: "Name", maxlength: 100, required: true, "aria-label": "Name" });
  const emailInput = h("input", { name: "email", type: "email", placeholder: "Email", required: true, "aria-label": "Email" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create user");
  const cancel = h("button", { type: "button", hidden: true, onclick: () => stopEditing() }, "Cancel");
  const formError = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    { class: "user-form card", onsubmit: (e: Event) => void save(e) },
    nameInput,
    emailInput,
    submit,
    cancel,
    formError,
  );
  const empty = h("p", { class: "muted empty" }, "Waiting for the users feed…");
  const count = h("span", { class: "muted" });
  const feedState = h("span", { class: "pill" }, "loading");
  const log = h("ol", { class: "event-log" });

  const root = h(
    "section",
    { class: "users-layout" },
    h(
      "main",
      { class: "users-main" },
      h("header", { class: "section-header" }, h("h2", {}, "Users"), count, feedState),
      form,
      h("div", { class: "table-wrap card" }, table.element, empty),
    ),
    h(
      "aside",
      { class: "log-panel" },
      h("header", { class: "section-header" }, h("h2", {}, "Event log"), h("span", { class: "muted" }, "users:events stream")),
      log,
    ),
  );

  function updateCount() {
    count.textContent = `${model.size.toLocaleString()} ${model.size === 1 ? "user" : "users"}`;
    empty.hidden = model.size > 0;
    empty.textContent = "No users yet: create one above.";
    table.refresh();
  }

  function logEvent(event: UserEventEntry) {
    log.prepend(
      h(
        "li",
        { class: `event ${typeLabel[event.type]}` },
        h("span", { class: "event-type" }, typeLabel[event.type]),
        h("span", { class: "event-user" }, `#${event.user.id} ${event.user.name}`),
        h("span", { class: "event-meta" }, `${event.origin} · ${timeOf(event.occurredAt)} · ${event.cursor}`),
      ),
    );
    while (log.childElementCount > 200) log.lastElementChild?.remove();
  }

  model.onChange((change) => {
    if (change.kind === "event") {
      const { event } = change;
      if (event.type === "user.deleted" && editing === event.user.id) stopEditing();
      if (event.type !== "user.deleted") table.flash(event.user.id, event.type === "user.created" ? "added" : "updated");
      logEvent(event);
    } else if (!change.done) {
      feedState.textContent = `loading · ${model.size.toLocaleString()} users`;
    }
    updateCount();
  });

  async function subscribe() {
    clearTimeout(retry);
    feedState.textContent = "loading";
    feedState.classList.remove("ok");
    try {
      await model.subscribe();
      feedState.textContent = `live · via ${model.server}`;
      feedState.title = `this page's events come from ${model.server}'s reader of the users:events stream`;
      feedState.classList.add("ok");
      updateCount();
    } catch (error) {
      feedState.textContent = "unavailable";
      empty.textContent = (error as Error).message;
      // RATE_LIMITED says when to come back; anything else: a few seconds.
      const wait = error instanceof AckError && error.body.retryAfterMs !== undefined ? error.body.retryAfterMs : 3_000;
      if (session.socket.connected) retry = setTimeout(() => void subscribe(), wait);
    }
  }

  async function api(method: string, path: string, body?: unknown): Promise<void> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    const bearer = token();
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const response = await fetch(`/api/users${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) {
      const reply = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
      throw new Error(reply.error?.message ?? `HTTP ${response.status}`);
    }
  }

  async function save(e: Event) {
    e.preventDefault();
    formError.textContent = "";
    const body = { name: nameInput.value.trim(), email: emailInput.value.trim() };
    try {
      if (editing === undefined) await api("POST", "", body);
      else await api("PUT", `/${editing}`, body);
      stopEditing();
    } catch (error) {
      formError.textContent = (error as Error).message;
    }
  }

  async function remove(user: UserRecord) {
    try {
      await api("DELETE", `/${user.id}`);
    } catch (error) {
      notify(`Could not delete ${user.name}: ${(error as Error).message}`, "error");
    }
  }

  function startEditing(user: UserRecord) {
    editing = user.id;
    nameInput.value = user.name;
    emailInput.value = user.email;
    submit.textContent = `Save #${user.id}`;
    cancel.hidden = false;
    nameInput.focus();
  }

  function stopEditing() {
    editing = undefined;
    form.reset();
    submit.textContent = "Create user";
    cancel.hidden = true;
    formError.textContent = "";
  }

  session.socket.on("users:event", (event) => model.apply(event));
  session.socket.on("users:reset", () => {
    notify("The users feed started over (its Redis was reset): reloading the users", "info");
    model.reset();
    void subscribe();
  });
  session.socket.on("connect", () => void subscribe());
  session.socket.on("disconnect", () => {
    feedState.textContent = "reconnecting";
    feedState.classList.remove("ok");
  });
  return root;
}
