import { h } from "./dom.js";
import type { ChatSession } from "./session.js";

export interface TypingIndicator {
  element: HTMLElement;
  render(): void;
  /** The user's message arrived: they stopped typing in that room. */
  stopped(room: string, nickname: string): void;
}

/** "ada is typing…" for the active room; each signal lasts 3 s unless renewed. */
export function createTypingIndicator(session: ChatSession, active: () => string | undefined): TypingIndicator {
  const typingLine = h("div", { class: "typing", "aria-live": "polite" });
  /** "room\nnickname" → when the signal expires (ms since epoch). */
  const typists = new Map<string, number>();

  function render() {
    const now = Date.now();
    const names = [...typists.entries()].filter(([key, until]) => until > now && key.startsWith(`${active()}\n`));
    const who = names.map(([key]) => key.split("\n")[1]);
    typingLine.textContent =
      who.length === 0 ? "" : who.length === 1 ? `${who[0]} is typing…` : `${who.slice(0, 3).join(", ")} are typing…`;
  }
  setInterval(render, 1_000);

  session.on("typing", (room, nickname) => {
    typists.set(`${room}\n${nickname}`, Date.now() + 3_000);
    render();
  });

  return {
    element: typingLine,
    render,
    stopped(room, nickname) {
      typists.delete(`${room}\n${nickname}`);
      render();
    },
  };
}
