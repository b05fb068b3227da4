import type { UserEventEntry, UserRecord, UsersSubscription } from "../../src/contracts/events.js";
import { h, timeOf } from "./dom.js";
import { isAfter, type ChatSession } from "./session.js";

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
 * The live users table and the event log. Rows are added, changed and removed one event at a
 * time; after a reconnect the page asks only for what it missed since its cursor.
 */
export function createUsersView({ session, notify, token }: UsersViewOptions): HTMLElement {
  let cursor: string | undefined;
  let editing: number | undefined;
  const rows = new Map<number, HTMLTableRowElement>();

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
  const tbody = h("tbody");
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
      h(
        "div",
        { class: "table-wrap card" },
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, h("th", {}, "ID"), h("th", {}, "Name"), h("th", {}, "Email"), h("th", {}, "Updated"), h("th", {}, ""))),
          tbody,
        ),
        empty,
      ),
    ),
    h(
      "aside",
      { class: "log-panel" },
      h("header", { class: "section-header" }, h("h2", {}, "Event log"), h("span", { class: "muted" }, "users:events stream")),
      log,
    ),
  );

  function cells(user: UserRecord): Node[] {
    return [
      h("td", { class: "num" }, user.id),
      h("td", {}, user.name),
      h("td", { class: "email" }, user.email),
      h("td", { class: "muted" }, timeOf(user.updatedAt)),
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", class: "link", onclick: () => startEditing(user) }, "Edit"),
        h("button", { type: "button", class: "link danger", onclick: () => void remove(user) }, "Delete"),
      ),
    ];
  }

  function flash(row: HTMLElement, kind: string) {
    row.classList.remove("flash-added", "flash-updated");
    void row.offsetWidth; // restart the animation
    row.classList.add(`flash-${kind}`);
  }

  function upsert(user: UserRecord, animate: boolean) {
    const existing = rows.get(user.id);
    if (existing) {
      existing.replaceChildren(...cells(user));
      if (animate) flash(existing, "updated");
      return;
    }
    const row = h("tr", { "data-id": user.id }, ...cells(user));
    // Keep id order without re-rendering: insert before the first row with a larger id.
    const next = [...rows.entries()].filter(([id]) => id > user.id).sort(([a], [b]) => a - b)[0]?.[1];
    tbody.insertBefore(row, next ?? null);
    rows.set(user.id, row);
    if (animate) flash(row, "added");
  }

  function removeRow(id: number) {
    const row = rows.get(id);
    if (!row) return;
    rows.delete(id);
    row.classList.add("removing");
    row.addEventListener("animationend", () => row.remove(), { once: true });
    if (editing === id) stopEditing();
  }

  function updateCount() {
    count.textContent = `${rows.size} ${rows.size === 1 ? "user" : "users"}`;
    empty.hidden = rows.size > 0;
    empty.textContent = "No users yet: create one above.";
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

  function apply(event: UserEventEntry) {
    if (cursor !== undefined && !isAfter(event.cursor, cursor)) return;
    cursor = event.cursor;
    if (event.type === "user.deleted") removeRow(event.user.id);
    else upsert(event.user, true);
    logEvent(event);
    updateCount();
  }

  /** A snapshot after a long absence: change only the rows that differ. */
  function reconcile(users: UserRecord[], at: string) {
    const seen = new Set<number>();
    for (const user of users) {
      seen.add(user.id);
      upsert(user, cursor !== undefined);
    }
    for (const id of [...rows.keys()]) if (!seen.has(id)) removeRow(id);
    cursor = at;
    updateCount();
  }

  async function subscribe() {
    feedState.textContent = "loading";
    try {
      const reply: UsersSubscription = await session.request("users:subscribe", cursor ? { since: cursor } : {});
      if (reply.mode === "snapshot") reconcile(reply.users, reply.cursor);
      else for (const event of reply.events) apply(event);
      feedState.textContent = `live · via ${reply.server}`;
      feedState.title = `this page's events come from ${reply.server}'s reader of the users:events stream`;
      feedState.classList.add("ok");
    } catch (error) {
      feedState.textContent = "unavailable";
      feedState.classList.remove("ok");
      empty.textContent = (error as Error).message;
      setTimeout(() => void subscribe(), 3_000);
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

  session.socket.on("users:event", (event) => apply(event));
  session.socket.on("connect", () => void subscribe());
  session.socket.on("disconnect", () => {
    feedState.textContent = "reconnecting";
    feedState.classList.remove("ok");
  });
  return root;
}
