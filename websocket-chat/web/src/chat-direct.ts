import type { PrivateMessage } from "../../src/contracts/events.js";
import { h, timeOf } from "./dom.js";
import type { ChatSession } from "./session.js";

/** The private-message panel: newest first, each with a "reply" button. */
export function createDirectPanel(options: {
  session: ChatSession;
  notify: (text: string, kind: "info" | "error") => void;
  reply: (nickname: string) => void;
}): HTMLElement {
  const { session, notify, reply } = options;
  const directList = h("ol", { class: "direct-list" });

  function directItem(message: PrivateMessage, mine: boolean): HTMLLIElement {
    const peer = mine ? message.to : message.from;
    return h(
      "li",
      { class: mine ? "dm mine" : "dm" },
      h(
        "div",
        { class: "meta" },
        h("strong", {}, mine ? `to ${message.to}` : `from ${message.from}`),
        h("span", { class: "replica" }, message.server),
        h("time", { datetime: message.timestamp }, timeOf(message.timestamp)),
      ),
      h("div", { class: "text" }, message.text),
      h("button", { type: "button", class: "link", onclick: () => reply(peer) }, "reply"),
    );
  }

  session.on("private", (message: PrivateMessage) => {
    const mine = message.from === session.nickname;
    directList.prepend(directItem(message, mine));
    if (!mine) notify(`Private message from ${message.from}`, "info");
  });

  return h("aside", { class: "direct" }, h("div", { class: "panel grow" }, h("h3", {}, "Private messages"), directList));
}
