import type { UserRecord } from "./users-types.js";
import type { UsersPage } from "./events.js";

/** The users of a snapshot page (its `users` bytes are JSON; see UsersPage). The browser uses it too. */
export function decodeUsersPage(page: UsersPage): UserRecord[] {
  return JSON.parse(new TextDecoder().decode(page.users)) as UserRecord[];
}
