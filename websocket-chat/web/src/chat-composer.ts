import { MAX_MESSAGE_CHARS } from "../../src/contracts/limits.js";
import { append, clear, h } from "./dom.js";
import type { ChatSession } from "./session.js";

export interface Composer {
  element: HTMLFormElement;
  focus(): void;
  /** Addresses the next message to this nickname, privately; undefined goes back to the room. */
  setWhisper: (nickname: string | undefined) => void;
}

/** The message box: a counter, Enter to send, typing signals, and the "to @nick" chip for a private message. */
export function createComposer(options: {
  session: ChatSession;
  notify: (text: string, kind: "info" | "error") => void;
  active: () => string | undefined;
}): Composer {
  const { session, notify, active } = options;
  let whisperTo: string | undefined;
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

  textInput.addEventListener("input", () => {
    const room = active();
    if (room && !whisperTo && textInput.value !== "") session.typing(room);
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

  async function send(e: Event) {
    e.preventDefault();
    const text = textInput.value;
    if (!text.trim()) return;
    try {
      const room = active();
      if (whisperTo) {
        await session.whisper(whisperTo, text);
        // One private message per click on "message": the next one goes to the room again.
        setWhisper(undefined);
      } else if (room) await session.send(room, text);
      textInput.value = "";
      textInput.dispatchEvent(new Event("input"));
    } catch (error) {
      notify((error as Error).message, "error");
    }
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

  return { element: composer, focus: () => textInput.focus(), setWhisper };
}
