import type { PresenceEvent, RoomMessage } from "../../src/contracts/events.js";
import { h } from "./dom.js";
import { createComposer } from "./chat-composer.js";
import { createDirectPanel } from "./chat-direct.js";
import { createLoginForm } from "./chat-login.js";
import { createMessageList } from "./chat-messages.js";
import { createMembersPanel, createRoomsPanel } from "./chat-rooms.js";
import { createTypingIndicator } from "./chat-typing.js";
import type { ChatSession, RoomState } from "./session.js";

export interface ChatViewOptions {
  session: ChatSession;
  notify: (text: string, kind: "info" | "error") => void;
  /** Called when the server asks for a token: the page reconnects with this one. */
  useToken: (token: string) => void;
  needsToken: () => boolean;
}

/** Rooms, members, the conversation and private messages, wired to the session's events. */
export function createChatView({ session, notify, useToken, needsToken }: ChatViewOptions): HTMLElement {
  let active: string | undefined;
  const activeRoom = () => active;

  const composer = createComposer({ session, notify, active: activeRoom });
  const typing = createTypingIndicator(session, activeRoom);
  const messages = createMessageList(session);
  const members = createMembersPanel(session, composer.setWhisper);
  const rooms = createRoomsPanel({ session, notify, active: activeRoom, select, leave: (name) => void leaveRoom(name) });
  const direct = createDirectPanel({ session, notify, reply: composer.setWhisper });

  const layout = h(
    "section",
    { class: "chat-layout", hidden: true },
    h("aside", { class: "sidebar" }, rooms.element, members.element),
    h("main", { class: "conversation" }, messages.header, messages.element, typing.element, composer.element),
    direct,
  );
  const loginForm = createLoginForm({
    session,
    useToken,
    needsToken,
    onEntered: (room) => {
      loginForm.parentElement?.remove();
      layout.hidden = false;
      select(room);
      composer.focus();
    },
  });
  const root = h("div", { class: "chat-view" }, h("div", { class: "login-wrap" }, loginForm), layout);

  function renderConversation() {
    const room = active ? session.rooms.get(active) : undefined;
    messages.render(room);
    members.render(room);
  }

  function select(name: string | undefined) {
    active = name;
    const room = name ? session.rooms.get(name) : undefined;
    if (room) room.unread = 0;
    rooms.render();
    renderConversation();
    typing.render();
  }

  async function leaveRoom(name: string) {
    try {
      await session.leave(name);
      if (active === name) active = [...session.rooms.keys()][0];
      rooms.render();
      renderConversation();
    } catch (error) {
      notify((error as Error).message, "error");
    }
  }

  session.on("roomChanged", (room) => {
    rooms.render();
    if (room.name === active) renderConversation();
  });
  session.on("message", (room: RoomState, message: RoomMessage) => {
    if (room.name !== active) {
      room.unread += 1;
      return rooms.render();
    }
    typing.stopped(room.name, message.user);
    messages.add(room, message);
  });
  session.on("presence", (room: RoomState, event: PresenceEvent) => {
    if (room.name !== active) return;
    members.render(room);
    messages.addSystemLine(`${event.nickname} ${event.action === "joined" ? "joined" : "left"} #${room.name}`);
  });

  return root;
}
