import "./styles.css";
import "./cluster.css";
import type { ChatReplicaBeat, ClusterView, UsersReplicaBeat } from "../../src/contracts/cluster.js";
import { append, clear, h } from "./dom.js";
import { formatUptime, messagePaths, shortMethod } from "./cluster-model.js";

/** The page polls at most this often: the replicas beat about once a second. */
const POLL_MS = 1_000;
const TOKEN_KEY = "clusterkit.token";

const status = h("span", { class: "status connecting" }, "connecting…");
const chatGrid = h("div", { class: "node-grid", "data-section": "chat" });
const usersGrid = h("div", { class: "node-grid", "data-section": "users" });
const redisGrid = h("div", { class: "node-grid", "data-section": "redis" });
const paths = h("ol", { class: "paths" });

append(
  document.getElementById("app")!,
  h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "◆"), "clusterkit", h("span", { class: "muted" }, "cluster")),
    h("a", { class: "nav-link", href: "/" }, "← chat"),
    h("div", { class: "topbar-right" }, status),
  ),
  h(
    "main",
    { class: "cluster" },
    h("section", {}, h("h3", {}, "Chat replicas"), chatGrid),
    h("section", {}, h("h3", {}, "Users replicas"), usersGrid),
    h("section", {}, h("h3", {}, "Redis"), redisGrid),
    h("section", {}, h("h3", {}, "Message paths · took → delivered to"), paths),
  ),
);

/** Last value shown per box and stat: a changed one flashes, so moving counters catch the eye. */
const shown = new Map<string, string>();
function stat(box: string, name: string, label: string, value: string | number): HTMLElement {
  const text = String(value);
  const key = `${box}/${name}`;
  const moved = shown.has(key) && shown.get(key) !== text;
  shown.set(key, text);
  return h("div", { class: moved ? "stat moved" : "stat", "data-stat": name }, h("span", { class: "stat-value" }, text), h("span", { class: "stat-label" }, label));
}

/** One stat of a box: its key (`data-stat`), its label and its value. */
type Stat = readonly [name: string, label: string, value: string | number];

/** A box of the grid: a node's name, a line under it, and its stats. */
function nodeBox(kind: string, id: string, subtitle: string, stats: readonly Stat[]): HTMLElement {
  return h(
    "article",
    { class: `node card ${kind}`, "data-replica": id },
    h("header", {}, h("strong", {}, id), h("span", { class: "muted" }, subtitle)),
    h("div", { class: "stats" }, ...stats.map(([name, label, value]) => stat(id, name, label, value))),
  );
}

const replicaBox = (kind: string, beat: { id: string; uptimeS: number }, stats: readonly Stat[]) =>
  nodeBox(kind, beat.id, `up ${formatUptime(beat.uptimeS)}`, stats);

function chatBox(beat: ChatReplicaBeat, latest: { takenBy: string; deliveredBy: string[] } | undefined): HTMLElement {
  const box = replicaBox("chat", beat, [
    ["connections", "connections", beat.connections],
    ["rooms", "rooms", beat.rooms],
    ["inPerS", "in / s", beat.inPerS],
    ["outPerS", "out / s", beat.outPerS],
    ["messagesIn", "messages in", beat.messagesIn],
    ["messagesOut", "delivered", beat.messagesOut],
  ]);
  if (latest?.takenBy === beat.id) box.classList.add("took");
  if (latest?.deliveredBy.includes(beat.id)) box.classList.add("delivered");
  return box;
}

function usersBox(beat: UsersReplicaBeat): HTMLElement {
  const calls = Object.entries(beat.callsPerS).filter(([, perS]) => perS > 0);
  const box = replicaBox("users", beat, [
    ["subscribers", "subscribers", beat.subscribers],
    ["cursor", "event cursor", beat.cursor],
  ]);
  box.append(
    h(
      "ul",
      { class: "calls" },
      ...(calls.length === 0 ? [h("li", { class: "muted" }, "no calls this second")] : calls.map(([method, perS]) => h("li", { title: method }, `${shortMethod(method)} ${perS}/s`))),
    ),
  );
  return box;
}

function render(view: ClusterView): void {
  const recent = messagePaths(view, 8);
  const newest = recent[0];
  const latest = newest && { takenBy: newest.takenBy, deliveredBy: newest.deliveredBy.map((d) => d.replica) };
  chatGrid.replaceChildren(...view.chat.map((beat) => chatBox(beat, latest)));
  if (view.chat.length === 0) chatGrid.append(h("p", { class: "muted" }, "No chat replica is beating."));
  usersGrid.replaceChildren(...view.users.map(usersBox));
  if (view.users.length === 0) usersGrid.append(h("p", { class: "muted" }, "No users replica is beating."));
  clear(redisGrid);
  if (view.redis) {
    const r = view.redis;
    redisGrid.append(nodeBox("redis", "redis", r.usedMemoryHuman, [["opsPerS", "ops / s", r.opsPerS], ["clients", "clients", r.clients]]));
  }
  paths.replaceChildren(
    ...recent.map((path) =>
      h(
        "li",
        { class: "path", "data-id": path.id },
        h("span", { class: "room" }, `#${path.room}`),
        h("span", { class: "hop took" }, path.takenBy),
        "→",
        ...path.deliveredBy.map((d) => h("span", { class: "hop delivered" }, `${d.replica} ×${d.sockets}`)),
        h("span", { class: "muted id" }, path.id),
      ),
    ),
  );
  if (recent.length === 0) paths.append(h("li", { class: "muted" }, "Send a message in the chat to see its path."));
}

async function poll(): Promise<void> {
  const token = localStorage.getItem(TOKEN_KEY);
  try {
    const response = await fetch("/api/cluster", {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(3_000),
    });
    if (!response.ok) throw new Error(response.status === 401 ? "token required (sign in on the chat page)" : `HTTP ${response.status}`);
    const view = (await response.json()) as ClusterView;
    render(view);
    status.className = "status connected";
    status.textContent = `live · via ${view.servedBy}`;
  } catch (error) {
    status.className = "status reconnecting";
    status.textContent = `unreachable: ${(error as Error).message}`;
  }
  setTimeout(() => void poll(), POLL_MS);
}

void poll();
