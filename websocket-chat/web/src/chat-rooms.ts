import { clear, h } from "./dom.js";
import type { ChatSession, RoomState } from "./session.js";

export interface RoomsPanel {
  element: HTMLElement;
  render(): void;
}

/** The rooms the user is in (with unread badges and a leave button) and the form to join one. */
export function createRoomsPanel(options: {
  session: ChatSession;
  notify: (text: string, kind: "info" | "error") => void;
  active: () => string | undefined;
  select: (name: string) => void;
  leave: (name: string) => void;
}): RoomsPanel {
  const { session, notify, active, select, leave } = options;
  const roomList = h("ul", { class: "room-list" });
  const joinInput = h("input", { placeholder: "room name", maxlength: 64, "aria-label": "Room to join" });

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

  function render() {
    clear(roomList);
    for (const room of session.rooms.values()) {
      roomList.append(
        h(
          "li",
          { class: room.name === active() ? "active" : "" },
          h("button", { type: "button", class: "room-button", onclick: () => select(room.name) }, `# ${room.name}`),
          room.unread > 0 ? h("span", { class: "badge" }, room.unread) : null,
          h("button", { type: "button", class: "icon", title: `Leave ${room.name}`, onclick: () => leave(room.name) }, "×"),
        ),
      );
    }
  }

  const joinForm = h("form", { class: "inline-form", onsubmit: (e: Event) => void joinRoom(e) }, joinInput, h("button", { type: "submit" }, "Join"));
  return { element: h("div", { class: "panel" }, h("h3", {}, "Rooms"), roomList, joinForm), render };
}

export interface MembersPanel {
  element: HTMLElement;
  render(room: RoomState | undefined): void;
}

/** Who is in the active room, each with a "message" button that starts a private message. */
export function createMembersPanel(session: ChatSession, message: (nickname: string) => void): MembersPanel {
  const memberTitle = h("h3", {}, "Members");
  const memberList = h("ul", { class: "member-list" });

  function render(room: RoomState | undefined) {
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
            : h("button", { type: "button", class: "link", onclick: () => message(member) }, "message"),
        ),
      );
    }
  }

  return { element: h("div", { class: "panel grow" }, memberTitle, memberList), render };
}
