import type { UserRecord } from "../../src/contracts/events.js";
import { h, timeOf } from "./dom.js";
import type { UsersModel } from "./users-model.js";

/** Rows shown at once: the table never holds more, however many users there are. */
export const ROWS_PER_PAGE = 50;

export interface UsersWindow {
  element: HTMLElement;
  /** Marks a row to flash when it is next drawn (if it is in view). */
  flash(id: number, kind: "added" | "updated"): void;
  /** Redraws at the next frame; calls coalesce. */
  refresh(): void;
}

/**
 * The users table as a window over the model: a search box, ROWS_PER_PAGE rows and a pager.
 * Drawing costs the same for 10 users or 200,000 (only the visible rows are built); a search is
 * one pass over the model's users, redone only when the model or the query changed.
 */
export function createUsersWindow(
  model: UsersModel,
  actions: { edit(user: UserRecord): void; remove(user: UserRecord): void },
): UsersWindow {
  let offset = 0;
  let query = "";
  /** Ids matching the query, or undefined when they must be computed again. */
  let matches: readonly number[] | undefined;
  let frame: number | undefined;
  const flashes = new Map<number, "added" | "updated">();

  const search = h("input", {
    type: "search",
    placeholder: "Search name, email or #id",
    "aria-label": "Search users",
    oninput: () => {
      query = search.value.trim().toLowerCase();
      matches = undefined;
      offset = 0;
      refresh();
    },
  });
  const tbody = h("tbody");
  const range = h("span", { class: "muted range" });
  const prev = h("button", { type: "button", "aria-label": "Previous users", onclick: () => move(-ROWS_PER_PAGE) }, "‹ Prev");
  const next = h("button", { type: "button", "aria-label": "Next users", onclick: () => move(ROWS_PER_PAGE) }, "Next ›");
  const element = h(
    "div",
    { class: "users-window" },
    h("div", { class: "users-toolbar" }, search, h("span", { class: "pager" }, prev, range, next)),
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, h("th", {}, "ID"), h("th", {}, "Name"), h("th", {}, "Email"), h("th", {}, "Updated"), h("th", {}, ""))),
      tbody,
    ),
  );

  function visible(): readonly number[] {
    if (query === "") return model.ids;
    if (matches) return matches;
    const id = /^#?(\d+)$/.exec(query)?.[1];
    matches = model.ids.filter((n) => {
      if (id !== undefined && String(n) === id) return true;
      const user = model.get(n)!;
      return user.name.toLowerCase().includes(query) || user.email.toLowerCase().includes(query);
    });
    return matches;
  }

  function move(by: number) {
    offset = Math.max(0, offset + by);
    refresh();
  }

  function row(user: UserRecord): HTMLTableRowElement {
    const tr = h(
      "tr",
      { "data-id": user.id },
      h("td", { class: "num" }, user.id),
      h("td", {}, user.name),
      h("td", { class: "email" }, user.email),
      h("td", { class: "muted" }, timeOf(user.updatedAt)),
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", class: "link", onclick: () => actions.edit(user) }, "Edit"),
        h("button", { type: "button", class: "link danger", onclick: () => actions.remove(user) }, "Delete"),
      ),
    );
    const kind = flashes.get(user.id);
    if (kind) tr.classList.add(`flash-${kind}`);
    return tr;
  }

  function draw() {
    frame = undefined;
    const ids = visible();
    if (offset >= ids.length) offset = Math.max(0, Math.floor((ids.length - 1) / ROWS_PER_PAGE) * ROWS_PER_PAGE);
    const shown = ids.slice(offset, offset + ROWS_PER_PAGE);
    tbody.replaceChildren(...shown.map((id) => row(model.get(id)!)));
    flashes.clear();
    const of = query === "" ? `${ids.length.toLocaleString()}` : `${ids.length.toLocaleString()} matching`;
    range.textContent = ids.length === 0 ? "none" : `${(offset + 1).toLocaleString()}–${(offset + shown.length).toLocaleString()} of ${of}`;
    prev.disabled = offset === 0;
    next.disabled = offset + ROWS_PER_PAGE >= ids.length;
  }

  function refresh() {
    matches = undefined;
    // Outside a page (tests, hidden tab) requestAnimationFrame may never fire: draw now.
    if (typeof requestAnimationFrame !== "function" || document.hidden) return draw();
    frame ??= requestAnimationFrame(draw);
  }

  return {
    element,
    flash: (id, kind) => void flashes.set(id, kind),
    refresh,
  };
}
