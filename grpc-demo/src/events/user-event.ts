import { z } from "zod";

/**
 * The users domain-event stream: the one Redis stream every change to a user is appended to,
 * in the same atomic step as the change itself. User-service replicas read it to feed
 * SubscribeToUpdates; chat replicas read it to feed the browsers' live users view.
 *
 * Each entry has one field, `event`, whose value is the JSON of {@link UserEvent}. The entry id
 * is the event's cursor: ordered, unique, and the resume point for a reader.
 */
export const USER_EVENTS_STREAM = "users:events";

/** The field of each stream entry that holds the event JSON. */
export const USER_EVENT_FIELD = "event";

export const userEventTypes = ["user.created", "user.updated", "user.deleted"] as const;
export type UserEventType = (typeof userEventTypes)[number];

export const userRecordSchema = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  email: z.string(),
  /** ISO 8601, UTC. */
  createdAt: z.string(),
  /** ISO 8601, UTC. */
  updatedAt: z.string(),
});

/** A user as stored and as carried in events. */
export type UserRecord = z.infer<typeof userRecordSchema>;

export const userEventSchema = z.object({
  type: z.enum(userEventTypes),
  /** For `user.deleted`, the user as it was just before deletion. */
  user: userRecordSchema,
  /** ISO 8601, UTC. */
  occurredAt: z.string(),
  /** SERVER_ID of the replica that made the change. */
  origin: z.string(),
});

export type UserEvent = z.infer<typeof userEventSchema>;

/** An event together with its position in the stream. */
export interface UserEventEntry extends UserEvent {
  cursor: string;
}

/** Parses one stream entry; throws on an entry that is not a user event. */
export function parseUserEventEntry(id: string, fields: Record<string, string>): UserEventEntry {
  const raw = fields[USER_EVENT_FIELD];
  if (raw === undefined) throw new Error(`stream entry ${id} has no '${USER_EVENT_FIELD}' field`);
  return { ...userEventSchema.parse(JSON.parse(raw)), cursor: id };
}
