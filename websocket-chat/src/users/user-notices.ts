import type { Logger } from "pino";
import type { RoomHistory } from "../chat/room-history.js";
import type { UserEventEntry } from "./users-contract.js";
import { chatKeys } from "../redis/keys.js";

/** The author of notices: a space keeps it from ever being a nickname (nicknames.ts). */
export const NOTICE_AUTHOR = "users service";
/** Long past the moment every replica's reader has seen an event. */
const ONCE_WINDOW_MS = 10 * 60_000;

const verbs = { "user.created": "created", "user.updated": "updated", "user.deleted": "deleted" } as const;

/** The notice text for one user event. */
export function noticeText(event: UserEventEntry): string {
  return `${event.user.name} <${event.user.email}> (#${event.user.id}) was ${verbs[event.type]} on ${event.origin}`;
}

/**
 * The API → Redis → room path: every chat replica reads the users event stream, and each event
 * becomes one message in the room that subscribed to user events. All replicas offer it; a
 * budget of one per event cursor, spent in the same script that appends, lets exactly one
 * replica's append through, so the room gets each notice once, with an offset like any message.
 */
export class UserNotices {
  constructor(
    private readonly history: RoomHistory,
    private readonly logger: Logger,
    private readonly options: { room: string; serverId: string },
  ) {}

  post(event: UserEventEntry): void {
    const { room, serverId } = this.options;
    const once = { key: chatKeys.rate(`notice:${event.cursor}`), limit: 1, windowMs: ONCE_WINDOW_MS };
    this.history.append({ room, user: NOTICE_AUTHOR, text: noticeText(event), server: serverId }, once).catch((error: unknown) => {
      this.logger.warn({ err: error, cursor: event.cursor, room }, "could not post a user event notice");
    });
  }
}
