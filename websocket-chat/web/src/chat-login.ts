import { h } from "./dom.js";
import { AckError, type ChatSession } from "./session.js";

export interface LoginFormOptions {
  session: ChatSession;
  /** Called when the server asks for a token: the page reconnects with this one. */
  useToken: (token: string) => void;
  needsToken: () => boolean;
  /** Called once the nickname is taken and the first room joined. */
  onEntered: (room: string) => void;
}

/** The "Join the chat" card: nickname, first room and, when the server wants one, a signed token. */
export function createLoginForm({ session, useToken, needsToken, onEntered }: LoginFormOptions): HTMLFormElement {
  const nicknameInput = h("input", { name: "nickname", placeholder: "e.g. ada", autocomplete: "nickname", maxlength: 32, required: true });
  const roomInput = h("input", { name: "room", value: "general", maxlength: 64, required: true });
  const tokenInput = h("input", { name: "token", placeholder: "only if the server asks for one", autocomplete: "off" });
  const loginError = h("p", { class: "form-error", role: "alert" });

  /** Reconnects with the token; resolves to the server's refusal, or undefined once accepted. */
  function connectWith(token: string): Promise<string | undefined> {
    useToken(token);
    return new Promise<string | undefined>((resolve) => {
      session.socket.once("connect", () => resolve(undefined));
      session.socket.once("connect_error", (error) => resolve(error.message));
    });
  }

  async function login(e: Event) {
    e.preventDefault();
    loginError.textContent = "";
    const token = tokenInput.value.trim();
    if (token || needsToken()) {
      if (!token) return void (loginError.textContent = "This server needs a signed token.");
      const refusal = await connectWith(token);
      if (refusal) return void (loginError.textContent = `The server refused the token: ${refusal}`);
    }
    try {
      await session.identify(nicknameInput.value.trim());
      await session.join(roomInput.value.trim());
      onEntered(roomInput.value.trim());
    } catch (error) {
      loginError.textContent = error instanceof AckError ? error.body.message : String(error);
    }
  }

  return h(
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
}
