import type { UserEventType, UserRecord } from "../events/user-event.js";
import { UserAction, type User } from "../gen/userservice/v1/user_service.js";
import type { UserResponse } from "../gen/userservice/handout.js";

/** A stored user as a v1 message. */
export function toUserMessage(user: UserRecord): User {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    createTime: new Date(user.createdAt),
    updateTime: new Date(user.updatedAt),
  };
}

/** A stored user as the handout's message. */
export function toHandoutUser(user: UserRecord): UserResponse {
  return { id: user.id, name: user.name, email: user.email, createdAt: user.createdAt };
}

export const actionOf: Record<UserEventType, UserAction> = {
  "user.created": UserAction.USER_ACTION_CREATED,
  "user.updated": UserAction.USER_ACTION_UPDATED,
  "user.deleted": UserAction.USER_ACTION_DELETED,
};

/** The handout's action words. */
export const handoutActionOf: Record<UserEventType, string> = {
  "user.created": "created",
  "user.updated": "updated",
  "user.deleted": "deleted",
};
