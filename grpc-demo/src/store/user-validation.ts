import { z } from "zod";
import { quote } from "./quote.js";
import { UserError } from "./user-errors.js";

export const NAME_MAX_LENGTH = 100;
export const EMAIL_MAX_LENGTH = 254;

const emailSchema = z.email();

/** Trims and checks a name; throws INVALID_ARGUMENT naming `field`. */
export function validName(value: string, field = "name"): string {
  const name = value.trim();
  if (name.length === 0) throw new UserError("INVALID_ARGUMENT", `${field} must not be empty`, field);
  if ([...name].length > NAME_MAX_LENGTH) {
    throw new UserError("INVALID_ARGUMENT", `${field} must be at most ${NAME_MAX_LENGTH} characters`, field);
  }
  return name;
}

/** Trims and checks an email; throws INVALID_ARGUMENT naming `field`. */
export function validEmail(value: string, field = "email"): string {
  const email = value.trim();
  if (email.length === 0) throw new UserError("INVALID_ARGUMENT", `${field} must not be empty`, field);
  if (email.length > EMAIL_MAX_LENGTH || !emailSchema.safeParse(email).success) {
    throw new UserError("INVALID_ARGUMENT", `${field} '${quote(email)}' is not a valid email address`, field);
  }
  return email;
}

/** Checks an id; throws INVALID_ARGUMENT naming `field`. */
export function validId(value: number, field = "id"): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new UserError("INVALID_ARGUMENT", `${field} must be a positive integer, got ${value}`, field);
  }
  return value;
}

/** The form emails are compared in for uniqueness. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}
