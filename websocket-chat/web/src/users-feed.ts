import { h } from "./dom.js";
import { AckError, type ChatSession } from "./session.js";
import type { UsersModel } from "./users-model.js";

export interface UsersFeed {
  /** The pill saying whether the feed is loading, live or unavailable. */
  element: HTMLElement;
  /** Shows how many users a snapshot has read so far. */
  showProgress(): void;
}

/**
 * Keeps the model subscribed to the users feed: on every connect, again after a reset, and again
 * after a failure (when RATE_LIMITED says, else after a few seconds), while the socket stays up.
 */
export function createUsersFeed(options: {
  session: ChatSession;
  model: UsersModel;
  notify: (text: string, kind: "info" | "error") => void;
  /** The snapshot is in. */
  onLoaded: () => void;
  /** The subscription failed with this message. */
  onUnavailable: (message: string) => void;
}): UsersFeed {
  const { session, model, notify, onLoaded, onUnavailable } = options;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const feedState = h("span", { class: "pill" }, "loading");

  async function subscribe() {
    clearTimeout(retry);
    feedState.textContent = "loading";
    feedState.classList.remove("ok");
    try {
      await model.subscribe();
      feedState.textContent = `live · via ${model.server}`;
      feedState.title = `this page's events come from ${model.server}'s reader of the users:events stream`;
      feedState.classList.add("ok");
      onLoaded();
    } catch (error) {
      feedState.textContent = "unavailable";
      onUnavailable((error as Error).message);
      // RATE_LIMITED says when to come back; anything else: a few seconds.
      const wait = error instanceof AckError && error.body.retryAfterMs !== undefined ? error.body.retryAfterMs : 3_000;
      if (session.socket.connected) retry = setTimeout(() => void subscribe(), wait);
    }
  }

  session.socket.on("users:event", (event) => model.apply(event));
  session.socket.on("users:reset", () => {
    notify("The users feed started over (its Redis was reset): reloading the users", "info");
    model.reset();
    void subscribe();
  });
  session.socket.on("connect", () => void subscribe());
  session.socket.on("disconnect", () => {
    feedState.textContent = "reconnecting";
    feedState.classList.remove("ok");
  });

  return {
    element: feedState,
    showProgress: () => void (feedState.textContent = `loading · ${model.size.toLocaleString()} users`),
  };
}
