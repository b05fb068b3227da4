// The handout's two events, as its page uses them, against this server. Text is shown as text.
/* global io, document, location, URLSearchParams */
const room = new URLSearchParams(location.search).get("room") || "general";
const socket = io();
const list = document.getElementById("messages");
const input = document.getElementById("message-input");

socket.on("connect", () => socket.emit("join_room", room));
socket.on("message", (data) => {
  const line = document.createElement("div");
  line.textContent = `[${data.server}] ${data.user}: ${data.message}`;
  list.appendChild(line);
});
socket.on("chat:error", (error) => {
  const line = document.createElement("div");
  line.textContent = `error: ${error.message}`;
  list.appendChild(line);
});
document.getElementById("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  socket.emit("message", { room, message: input.value });
  input.value = "";
});
