import type { RoomMessage } from "../../src/contracts/events.js";
import { clear, h, timeOf } from "./dom.js";
import type { ChatSession, RoomState } from "./session.js";

export interface MessageList {
  /** The conversation's title and message count. */
  header: HTMLElement;
  /** The list of messages itself. */
  element: HTMLOListElement;
  /** Redraws the whole room (or "No room"). */
  render(room: RoomState | undefined): void;
  /** Adds one new message, following it only if the reader was already at the bottom. */
  add(room: RoomState, message: RoomMessage): void;
  /** A line such as "ada joined #general". */
  addSystemLine(text: string): void;
}

const keptLine = (room: RoomState) => `${room.messages.length} messages kept here · history comes from Redis`;

/** The active room's conversation: its header and its messages. */
export function createMessageList(session: ChatSession): MessageList {
  const title = h("h2", { class: "conversation-title" }, "");
  const subtitle = h("span", { class: "muted" }, "");
  const messages = h("ol", { class: "messages", "aria-live": "polite" });

  function messageItem(message: RoomMessage): HTMLLIElement {
    return h(
      "li",
      { class: message.user === session.nickname ? "message mine" : "message" },
      h(
        "div",
        { class: "meta" },
        h("strong", {}, message.user),
        h("span", { class: "replica", title: "replica that accepted it" }, message.server),
        h("time", { datetime: message.timestamp }, timeOf(message.timestamp)),
      ),
      h("div", { class: "text" }, message.text),
    );
  }

  function render(room: RoomState | undefined) {
    title.textContent = room ? `# ${room.name}` : "No room";
    subtitle.textContent = room ? keptLine(room) : "Join a room to start";
    clear(messages);
    for (const message of room?.messages ?? []) messages.append(messageItem(message));
    messages.scrollTop = messages.scrollHeight;
  }

  function add(room: RoomState, message: RoomMessage) {
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    messages.append(messageItem(message));
    subtitle.textContent = keptLine(room);
    if (atBottom || message.user === session.nickname) messages.scrollTop = messages.scrollHeight;
  }

  function addSystemLine(text: string) {
    messages.append(h("li", { class: "system" }, text));
    messages.scrollTop = messages.scrollHeight;
  }

  return { header: h("header", {}, title, subtitle), element: messages, render, add, addSystemLine };
}
