import { USER_EVENTS_STREAM } from "../events/user-event.js";

/** The Redis keys of the users store; KEYS[n] in user-scripts.ts follow this order. */
export const userKeys = {
  nextId: "users:next_id",
  byEmail: "users:by_email",
  ids: "users:ids",
  events: USER_EVENTS_STREAM,
  eventsHorizon: `${USER_EVENTS_STREAM}:horizon`,
  seeded: "users:seeded",
  /** A user's hash is `users:<id>`. */
  userPrefix: "users:",
} as const;

export const scriptKeys = [userKeys.nextId, userKeys.byEmail, userKeys.ids, userKeys.events, userKeys.eventsHorizon];
