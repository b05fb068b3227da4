import { MAX_MESSAGE_CHARS } from "../../src/contracts/limits.js";
import type { PresenceEvent, PrivateMessage, RoomMessage } from "../../src/contracts/events.js";
import { append, clear, h, timeOf } from "./dom.js";
import { AckError, type ChatSession, type RoomState } from "./session.js";

export interface ChatViewOptions {
  session: ChatSession;
  notify: (text: string, kind: "info" | "error") => void;
  /** Called when the server asks for a token: the page reconnects with this one. */
  useToken: (token: string) => void;
  needsToken: () => boolean;
}

/** Rooms, members, the conversation and private messages. */
export function createChatView({ session, notify, useToken, needsToken }: ChatViewOptions): HTMLElement {
  let active: string | undefined;
  let whisperTo: string | undefined;

  // --- login ---
  const nicknameInput = h("input", { name: "nickname", placeholder: "e.g. ada", autocomplete: "nickname", maxlength: 32, required: true });
  const roomInput = h("input", { name: "room", value: "general", maxlength: 64, required: true });
  const tokenInput = h("input", { name: "token", placeholder: "only if the server asks for one", autocomplete: "off" });
  const loginError = h("p", { class: "form-error", role: "alert" });
  const loginForm = h(
    "form",
    { class: "card login", onsubmit: (e: Event) => void login(e) },
    h("h2", {}, "Join the chat"),
    h("p", { class: "muted" }, "Messages reach every replica of the cluster. Open a second tab, or kill a replica, and watch."),
    h("label", {}, "Nickname", nicknameInput),
    h("label", {}, "Room", roomInput),
    h("details", { class: "token" }, h("summary", {}, "Signed token"), h("label", {}, "Token (CHAT_AUTH_SECRET)", tokenInput)),
    loginError,
    h("button", { type: "submit", class: "primary" }, "Enter"),
  );

  // --- rooms and members ---
  const roomList = h("ul", { class: "room-list" });
  const joinInput = h("input", { placeholder: "room name", maxlength: 64, "aria-label": "Room to join" });
  const joinForm = h(
    "form",
    { class: "inline-form", onsubmit: (e: Event) => void joinRoom(e) },
    joinInput,
    h("button", { type: "submit" }, "Join"),
  );
  const memberTitle = h("h3", {}, "Members");
  const memberList = h("ul", { class: "member-list" });

  // --- conversation ---
  const title = h("h2", { class: "conversation-title" }, "");
  const subtitle = h("span", { class: "muted" }, "");
  const messages = h("ol", { class: "messages", "aria-live": "polite" });
  const typingLine = h("div", { class: "typing", "aria-live": "polite" });
  const typists = new Map<string, number>();
  const chip = h("span", { class: "chip", hidden: true });
  const textInput = h("textarea", { rows: 1, placeholder: "Write a message…", maxlength: MAX_MESSAGE_CHARS, "aria-label": "Message" });
  const counter = h("span", { class: "counter" }, `0 / ${MAX_MESSAGE_CHARS}`);
  const composer = h(
    "form",
    { class: "composer", onsubmit: (e: Event) => void send(e) },
    chip,
    textInput,
    counter,
    h("button", { type: "submit", class: "primary" }, "Send"),
  );
  const directList = h("ol", { class: "direct-list" });

  const layout = h(
    "section",
    { class: "chat-layout", hidden: true },
    h(
      "aside",
      { class: "sidebar" },
      h("div", { class: "panel" }, h("h3", {}, "Rooms"), roomList, joinForm),
      h("div", { class: "panel grow" }, memberTitle, memberList),
    ),
    h("main", { class: "conversation" }, h("header", {}, title, subtitle), messages, typingLine, composer),
    h("aside", { class: "direct" }, h("div", { class: "panel grow" }, h("h3", {}, "Private messages"), directList)),
  );
  const root = h("div", { class: "chat-view" }, h("div", { class: "login-wrap" }, loginForm), layout);

  textInput.addEventListener("input", () => {
    if (active && !whisperTo && textInput.value !== "") session.typing(active);
    counter.textContent = `${textInput.value.length} / ${MAX_MESSAGE_CHARS}`;
    textInput.style.height = "auto";
    textInput.style.height = `${Math.min(textInput.scrollHeight, 160)}px`;
  });
  textInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });

  async function login(e: Event) {
    e.preventDefault();
    loginError.textContent = "";
    const token = tokenInput.value.trim();
    if (token || needsToken()) {
      if (!token) return void (loginError.textContent = "This server needs a signed token.");
      useToken(token);
      const refusal = await new Promise<string | undefined>((resolve) => {
        session.socket.once("connect", () => resolve(undefined));
        session.socket.once("connect_error", (error) => resolve(error.message));
      });
      if (refusal) return void (loginError.textContent = `The server refused the token: ${refusal}`);
    }
    try {
      await session.identify(nicknameInput.value.trim());
      await session.join(roomInput.value.trim());
      loginForm.parentElement?.remove();
      layout.hidden = false;
      select(roomInput.value.trim());
      textInput.focus();
    } catch (error) {
      loginError.textContent = error instanceof AckError ? error.body.message : String(error);
    }
  }

  async function joinRoom(e: Event) {
    e.preventDefault();
    const name = joinInput.value.trim();
    if (!name) return;
    try {
      await session.join(name);
      joinInput.value = "";
      select(name);
    } catch (error) {
      notify((error as Error).message, "error");
    }
  }

  async function leaveRoom(name: string) {
    try {
      await session.leave(name);
      if (active === name) active = [...session.rooms.keys()][0];
      renderRooms();
      renderConversation();
    } catch (error) {
      notify((error as Error).message, "error");
    }
  }

  async function send(e: Event) {
    e.preventDefault();
    const text = textInput.value;
    if (!text.trim()) return;
    try {
      if (whisperTo) {
        await session.whisper(whisperTo, text);
        // One private message per click on "message": the next one goes to the room again.
        setWhisper(undefined);
      } else if (active) await session.send(active, text);
      textInput.value = "";
      textInput.dispatchEvent(new Event("input"));
    } catch (error) {
      notify((error as Error).message, "error");
    }
  }

  function select(name: string | undefined) {
    active = name;
    const room = name ? session.rooms.get(name) : undefined;
    if (room) room.unread = 0;
    renderRooms();
    renderConversation();
    renderTyping();
  }

  function setWhisper(nickname: string | undefined) {
    whisperTo = nickname;
    clear(chip);
    chip.hidden = !nickname;
    if (nickname) {
      append(chip, `to @${nickname}`, h("button", { type: "button", "aria-label": "Cancel private message", onclick: () => setWhisper(undefined) }, "×"));
      textInput.placeholder = `Private message to ${nickname}…`;
      textInput.focus();
    } else {
      textInput.placeholder = "Write a message…";
    }
  }

  function renderRooms() {
    clear(roomList);
    for (const room of session.rooms.values()) {
      roomList.append(
        h(
          "li",
          { class: room.name === active ? "active" : "" },
          h("button", { type: "button", class: "room-button", onclick: () => select(room.name) }, `# ${room.name}`),
          room.unread > 0 ? h("span", { class: "badge" }, room.unread) : null,
          h("button", { type: "button", class: "icon", title: `Leave ${room.name}`, onclick: () => void leaveRoom(room.name) }, "×"),
        ),
      );
    }
  }

  function renderMembers(room: RoomState | undefined) {
    clear(memberList);
    memberTitle.textContent = room ? `In #${room.name} · ${room.members.length}` : "Members";
    for (const member of room?.members ?? []) {
      const me = member === session.nickname;
      memberList.append(
        h(
          "li",
          {},
          h("span", { class: "avatar", "aria-hidden": "true" }, member.slice(0, 1).toUpperCase()),
          h("span", { class: "member-name" }, member),
          me
            ? h("span", { class: "muted" }, "you")
            : h("button", { type: "button", class: "link", onclick: () => setWhisper(member) }, "message"),
        ),
      );
    }
  }

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

  function renderConversation() {
    const room = active ? session.rooms.get(active) : undefined;
    title.textContent = room ? `# ${room.name}` : "No room";
    subtitle.textContent = room ? `${room.messages.length} messages kept here · history comes from Redis` : "Join a room to start";
    clear(messages);
    for (const message of room?.messages ?? []) messages.append(messageItem(message));
    renderMembers(room);
    messages.scrollTop = messages.scrollHeight;
  }

  function addSystemLine(text: string) {
    messages.append(h("li", { class: "system" }, text));
    messages.scrollTop = messages.scrollHeight;
  }

  function renderTyping() {
    const now = Date.now();
    const names = [...typists.entries()].filter(([key, until]) => until > now && key.startsWith(`${active}\n`));
    const who = names.map(([key]) => key.split("\n")[1]);
    typingLine.textContent =
      who.length === 0 ? "" : who.length === 1 ? `${who[0]} is typing…` : `${who.slice(0, 3).join(", ")} are typing…`;
  }
  setInterval(renderTyping, 1_000);

  session.on("typing", (room, nickname) => {
    typists.set(`${room}\n${nickname}`, Date.now() + 3_000);
    renderTyping();
  });
  session.on("roomChanged", (room) => {
    renderRooms();
    if (room.name === active) renderConversation();
  });
  session.on("message", (room, message) => {
    if (room.name !== active) {
      room.unread += 1;
      return renderRooms();
    }
    typists.delete(`${room.name}\n${message.user}`);
    renderTyping();
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    messages.append(messageItem(message));
    subtitle.textContent = `${room.messages.length} messages kept here · history comes from Redis`;
    if (atBottom || message.user === session.nickname) messages.scrollTop = messages.scrollHeight;
  });
  session.on("presence", (room: RoomState, event: PresenceEvent) => {
    if (room.name !== active) return;
    renderMembers(room);
    addSystemLine(`${event.nickname} ${event.action === "joined" ? "joined" : "left"} #${room.name}`);
  });
  session.on("private", (message: PrivateMessage) => {
    const mine = message.from === session.nickname;
    const peer = mine ? message.to : message.from;
    directList.prepend(
      h(
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
        h("button", { type: "button", class: "link", onclick: () => setWhisper(peer) }, "reply"),
      ),
    );
    if (!mine) notify(`Private message from ${message.from}`, "info");
  });

  return root;
}
