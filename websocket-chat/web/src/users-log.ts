import type { UserEventEntry } from "../../src/contracts/events.js";
import { h, timeOf } from "./dom.js";

const typeLabel: Record<UserEventEntry["type"], string> = {
  "user.created": "created",
  "user.updated": "updated",
  "user.deleted": "deleted",
};

/** Entries kept in the log: older ones drop off so a busy feed cannot grow the page without bound. */
const MAX_LOG_ENTRIES = 200;

export interface EventLog {
  element: HTMLElement;
  add(event: UserEventEntry): void;
}

/** The event log beside the users table: the newest users:events entries first. */
export function createEventLog(): EventLog {
  const log = h("ol", { class: "event-log" });

  function add(event: UserEventEntry) {
    log.prepend(
      h(
        "li",
        { class: `event ${typeLabel[event.type]}` },
        h("span", { class: "event-type" }, typeLabel[event.type]),
        h("span", { class: "event-user" }, `#${event.user.id} ${event.user.name}`),
        h("span", { class: "event-meta" }, `${event.origin} · ${timeOf(event.occurredAt)} · ${event.cursor}`),
      ),
    );
    while (log.childElementCount > MAX_LOG_ENTRIES) log.lastElementChild?.remove();
  }

  const element = h(
    "aside",
    { class: "log-panel" },
    h("header", { class: "section-header" }, h("h2", {}, "Event log"), h("span", { class: "muted" }, "users:events stream")),
    log,
  );
  return { element, add };
}
