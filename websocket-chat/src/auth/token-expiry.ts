import type { ChatSocket } from "../chat/socket-types.js";

/** setTimeout's longest delay (2^31-1 ms, ~24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Ends a token socket when its token expires (finding 11.9b): a token is checked once, at the
 * handshake, so without this a socket would outlive its token for as long as it stays
 * connected. The client is told why (`chat:error` TOKEN_EXPIRED) before the connection closes;
 * a reconnect with the same token is refused at the handshake.
 */
export function disconnectWhenExpired(socket: ChatSocket, expiresAt: number, onExpired: () => void): void {
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const left = expiresAt - Date.now();
    if (left > 0) {
      timer = setTimeout(check, Math.min(left, MAX_TIMER_MS));
      return;
    }
    onExpired();
    socket.emit("chat:error", { code: "TOKEN_EXPIRED", message: "your token has expired; sign in again with a new one", event: "connection" });
    // `true` closes the transport too, after the error above has been written.
    socket.disconnect(true);
  };
  check();
  socket.once("disconnect", () => clearTimeout(timer));
}
