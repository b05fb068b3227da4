// The handout's two events, as its page uses them, against this server: join_room, then message.
// With a nickname the page also identifies and joins the room the kit's way (chat:identify,
// chat:join), which is what puts it in the room's member list and makes its messages carry the
// nickname instead of the socket id; it still reads and writes messages as the handout does.
// Text is always shown as text.
/* global io, document, location, localStorage, crypto, URLSearchParams */
const params = new URLSearchParams(location.search);
const room = params.get("room") || "general";
const socket = io();
const $ = (id) => document.getElementById(id);
const list = $("messages");
const input = $("message-input");
const nicknameInput = $("nickname-input");
let nickname = params.get("nick") || "";
let members = [];

$("room-title").textContent = `# ${room}`;
nicknameInput.value = nickname;

function line(className, ...parts) {
  const item = document.createElement("li");
  if (className) item.className = className;
  for (const [kind, text] of parts) {
    const span = document.createElement("span");
    if (kind) span.className = kind;
    span.textContent = text;
    item.append(span);
  }
  list.append(item);
  list.scrollTop = list.scrollHeight;
}

function renderMembers() {
  const ul = $("members");
  ul.replaceChildren(
    ...members.map((name) => {
      const item = document.createElement("li");
      item.className = name === nickname ? "member me" : "member";
      item.textContent = name;
      return item;
    }),
  );
  $("member-title").textContent = nickname ? `In #${room} · ${members.length}` : "Members";
  $("members-hint").hidden = Boolean(nickname);
}

// The kit page's key when this browser has one, so both pages may use the same nickname.
function sessionKey() {
  let key = localStorage.getItem("clusterkit.sessionKey");
  if (!key) {
    key = crypto.randomUUID();
    localStorage.setItem("clusterkit.sessionKey", key);
  }
  return key;
}

const request = (event, payload) => new Promise((resolve) => socket.emit(event, payload, resolve));

async function identify() {
  if (!nickname) return renderMembers();
  const who = await request("chat:identify", { nickname, sessionKey: sessionKey() });
  if (who.error) {
    $("identity").textContent = `refused: ${who.error.message}`;
    nickname = "";
    return renderMembers();
  }
  const joined = await request("chat:join", { room });
  if (joined.error) return void ($("identity").textContent = `refused: ${joined.error.message}`);
  members = joined.members;
  $("identity").textContent = `you are ${nickname} · ${who.server}`;
  renderMembers();
}

socket.on("connect", () => {
  socket.emit("join_room", room);
  void identify();
});
socket.on("message", (data) => line("", ["sender", data.user], ["replica", data.server], ["text", data.message]));
socket.on("chat:presence", (event) => {
  if (event.room !== room) return;
  members = event.members;
  renderMembers();
});
socket.on("chat:error", (error) => line("error", ["", `error: ${error.message}`]));
$("identify").addEventListener("submit", (event) => {
  event.preventDefault();
  const wanted = nicknameInput.value.trim();
  if (!wanted || wanted === nickname) return;
  nickname = wanted;
  // A socket keeps the nickname it identified with: a new one needs a new connection.
  if (socket.connected) socket.disconnect().connect();
  else void identify();
});
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!input.value) return;
  socket.emit("message", { room, message: input.value });
  input.value = "";
});
renderMembers();
