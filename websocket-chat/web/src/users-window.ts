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

interface RowActions {
  edit(user: UserRecord): void;
  remove(user: UserRecord): void;
}

/**
 * The users table as a window over the model: a search box, ROWS_PER_PAGE rows and a pager.
 * Drawing costs the same for 10 users or 200,000 (only the visible rows are built); a search is
 * one pass over the model's users, redone only when the model or the query changed.
 */
export function createUsersWindow(model: UsersModel, actions: RowActions): UsersWindow {
  let offset = 0;
  let query = "";
  /** Ids matching the query, or undefined when they must be computed again. */
  let matches: readonly number[] | undefined;
  let frame: number | undefined;
  const flashes = new Map<number, "added" | "updated">();

  const search = createSearchBox((value) => {
    query = value;
    matches = undefined;
    offset = 0;
    refresh();
  });
  const pager = createPager((by) => {
    offset = Math.max(0, offset + by);
    refresh();
  });
  const tbody = h("tbody");
  const element = h("div", { class: "users-window" }, h("div", { class: "users-toolbar" }, search, pager.element), usersTable(tbody));

  function visible(): readonly number[] {
    if (query === "") return model.ids;
    matches ??= matchingIds(model, query);
    return matches;
  }

  function draw() {
    frame = undefined;
    const ids = visible();
    if (offset >= ids.length) offset = Math.max(0, Math.floor((ids.length - 1) / ROWS_PER_PAGE) * ROWS_PER_PAGE);
    const shown = ids.slice(offset, offset + ROWS_PER_PAGE);
    tbody.replaceChildren(...shown.map((id) => userRow(model.get(id)!, actions, flashes.get(id))));
    flashes.clear();
    pager.update(offset, shown.length, ids.length, query !== "");
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

/** Ids whose name or email contains the query, or whose id it is ("42" or "#42"). */
function matchingIds(model: UsersModel, query: string): number[] {
  const id = /^#?(\d+)$/.exec(query)?.[1];
  return model.ids.filter((n) => {
    if (id !== undefined && String(n) === id) return true;
    const user = model.get(n)!;
    return user.name.toLowerCase().includes(query) || user.email.toLowerCase().includes(query);
  });
}

/** The search box; reports the trimmed, lower-cased query on every keystroke. */
function createSearchBox(onQuery: (query: string) => void): HTMLInputElement {
  const search = h("input", {
    type: "search",
    placeholder: "Search name, email or #id",
    "aria-label": "Search users",
    oninput: () => onQuery(search.value.trim().toLowerCase()),
  });
  return search;
}

interface Pager {
  element: HTMLElement;
  /** Shows "first–last of total" and enables the buttons that lead somewhere. */
  update(offset: number, shown: number, total: number, searching: boolean): void;
}

/** "‹ Prev", the range shown, "Next ›"; each button moves by one page. */
function createPager(move: (by: number) => void): Pager {
  const range = h("span", { class: "muted range" });
  const prev = h("button", { type: "button", "aria-label": "Previous users", onclick: () => move(-ROWS_PER_PAGE) }, "‹ Prev");
  const next = h("button", { type: "button", "aria-label": "Next users", onclick: () => move(ROWS_PER_PAGE) }, "Next ›");
  return {
    element: h("span", { class: "pager" }, prev, range, next),
    update(offset, shown, total, searching) {
      const of = searching ? `${total.toLocaleString()} matching` : `${total.toLocaleString()}`;
      range.textContent = total === 0 ? "none" : `${(offset + 1).toLocaleString()}–${(offset + shown).toLocaleString()} of ${of}`;
      prev.disabled = offset === 0;
      next.disabled = offset + ROWS_PER_PAGE >= total;
    },
  };
}

function usersTable(tbody: HTMLTableSectionElement): HTMLTableElement {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, h("th", {}, "ID"), h("th", {}, "Name"), h("th", {}, "Email"), h("th", {}, "Updated"), h("th", {}, ""))),
    tbody,
  );
}

/** One user's row, flashing when it was just added or updated. */
function userRow(user: UserRecord, actions: RowActions, flash: "added" | "updated" | undefined): HTMLTableRowElement {
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
  if (flash) tr.classList.add(`flash-${flash}`);
  return tr;
}
