import "./styles.css";
import { createChatView } from "./chat-view.js";
import { append, h } from "./dom.js";
import { ChatSession, type ConnectionState } from "./session.js";
import { createUsersView } from "./users-view.js";

const TOKEN_KEY = "clusterkit.token";
const fromUrl = new URLSearchParams(location.search).get("token");
if (fromUrl) {
  localStorage.setItem(TOKEN_KEY, fromUrl);
  history.replaceState(null, "", location.pathname);
}
let token = localStorage.getItem(TOKEN_KEY) ?? undefined;
let refused = false;

const session = new ChatSession({ token });

const toasts = h("div", { class: "toasts", "aria-live": "assertive" });
function notify(text: string, kind: "info" | "error") {
  const toast = h("div", { class: `toast ${kind}` }, text);
  toasts.append(toast);
  setTimeout(() => toast.remove(), 4_500);
}

const status = h("span", { class: "status connecting" }, "connecting…");
const who = h("span", { class: "who muted" });
const logoutButton = h(
  "button",
  {
    type: "button",
    class: "link",
    hidden: true,
    onclick: () => {
      // The page starts over at its login card: the simplest way to drop every room's state.
      session.logout().then(
        () => location.reload(),
        (error: unknown) => notify(`could not log out: ${(error as Error).message}`, "error"),
      );
    },
  },
  "Log out",
);
function showState(state: ConnectionState) {
  refused = state.kind === "refused";
  const text: Record<ConnectionState["kind"], string> = {
    connecting: "connecting…",
    connected: "connected",
    reconnecting: "reconnecting…",
    recovered: "recovered",
    refused: "token required",
  };
  status.className = `status ${state.kind}`;
  status.textContent =
    state.kind === "recovered"
      ? `recovered ${state.count} ${state.count === 1 ? "message" : "messages"}${state.server ? ` · ${state.server}` : ""}`
      : state.kind === "connected" && state.server
        ? `connected · ${state.server}`
        : text[state.kind];
  status.title = state.kind === "reconnecting" || state.kind === "refused" ? (state.kind === "refused" ? state.message : state.reason) : "";
  who.textContent = session.nickname ? `signed in as ${session.nickname}` : "";
  logoutButton.hidden = !session.nickname;
}
session.on("state", showState);
session.on("notice", notify);

const chatView = createChatView({
  session,
  notify,
  needsToken: () => refused,
  useToken(value) {
    token = value;
    localStorage.setItem(TOKEN_KEY, value);
    session.socket.auth = { token: value };
    session.socket.disconnect().connect();
  },
});
const usersView = createUsersView({ session, notify, token: () => token });
usersView.hidden = true;

const tabs = [
  { label: "Chat", view: chatView },
  { label: "Live users", view: usersView },
];
const tabButtons = tabs.map(({ label, view }) =>
  h(
    "button",
    {
      type: "button",
      role: "tab",
      class: view === chatView ? "tab active" : "tab",
      "aria-selected": view === chatView ? "true" : "false",
      onclick: () => {
        for (const tab of tabs) tab.view.hidden = tab.view !== view;
        for (const button of tabButtons) {
          const selected = button.textContent === label;
          button.classList.toggle("active", selected);
          button.setAttribute("aria-selected", String(selected));
        }
      },
    },
    label,
  ),
);

append(
  document.getElementById("app")!,
  h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "◆"), "clusterkit", h("span", { class: "muted" }, "chat")),
    h("nav", { class: "tabs", role: "tablist" }, ...tabButtons),
    h("a", { class: "nav-link", href: "/cluster.html" }, "Cluster view"),
    h("div", { class: "topbar-right" }, who, logoutButton, status),
  ),
  h("div", { class: "views" }, chatView, usersView),
  toasts,
);

session.connect();
