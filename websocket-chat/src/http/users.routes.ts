import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { ListUsersResponse, UserServiceClient } from "../users/users-contract.js";
import type { Logger } from "pino";
import { toUserRecord } from "../users/users-feed.js";

const createBody = z.strictObject({ name: z.string().min(1).max(100), email: z.string().min(3).max(254) });
const updateBody = z
  .strictObject({ name: z.string().min(1).max(100).optional(), email: z.string().min(3).max(254).optional() })
  .refine((body) => body.name !== undefined || body.email !== undefined, "give a name, an email, or both");
/** The proto's `int32 id`: a larger number cannot be encoded, so it is refused here, not by the gRPC serializer (which answered 502). */
export const MAX_USER_ID = 2 ** 31 - 1;
const idParam = z
  .string()
  .regex(/^[1-9]\d{0,9}$/, "the id must be a positive whole number")
  .transform(Number)
  .refine((id) => id <= MAX_USER_ID, `the id must be at most ${MAX_USER_ID}`);

/** Users one `GET /api/users` page holds at most, and by default: the gRPC's 0 ("all of them") is not offered over REST. */
export const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;
const listQuery = z.object({
  page_size: z
    .string()
    .regex(/^\d{1,3}$/, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .transform(Number)
    .refine((size) => size >= 1 && size <= MAX_PAGE_SIZE, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .default(DEFAULT_PAGE_SIZE),
  // Opaque, but short and URL-safe (base64url): anything else is not a token ListUsers gave out.
  page_token: z.string().regex(/^[A-Za-z0-9_-]{0,64}$/, "not a token returned by this API").default(""),
});

/** gRPC status -> HTTP status for the page's users form. */
const httpStatusOf: Partial<Record<number, number>> = {
  [status.INVALID_ARGUMENT]: 400,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.UNAUTHENTICATED]: 401,
  [status.PERMISSION_DENIED]: 403,
  [status.UNAVAILABLE]: 503,
  [status.DEADLINE_EXCEEDED]: 504,
};

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/**
 * Who the chat acts for on a write. The chat holds the user service's token (USERS_AUTH_TOKEN) but
 * lends it only to a caller it has authenticated itself (a CHAT_AUTH_SECRET token, subject in
 * `res.locals.subject`). Anyone else's write goes out without it: a user service that requires a
 * token refuses it (UNAUTHENTICATED, answered 401), one that does not serves it as it would serve
 * that caller directly.
 */
function writeMetadata(res: Response, credential: string | undefined): Metadata {
  const metadata = new Metadata();
  if (credential && typeof res.locals.subject === "string") metadata.set("authorization", `Bearer ${credential}`);
  return metadata;
}

const notLent =
  "the user service requires a token for changes, and this chat lends its USERS_AUTH_TOKEN only to callers signed in with a chat token (CHAT_AUTH_SECRET)";

function call<T>(start: (callback: (error: ServiceError | null, response?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, response) => (error ? reject(error) : resolve(response as T))));
}

/** One page of ListUsers (a server stream): its users, the token of the next page ("" = last), the snapshot cursor. */
function listPage(users: UserServiceClient, request: { pageSize: number; pageToken: string }, deadline: Date) {
  return new Promise<{ users: ReturnType<typeof toUserRecord>[]; nextPageToken: string; cursor: string }>((resolve, reject) => {
    const call = users.listUsers({ ...request, nameFilter: "" }, new Metadata(), { deadline });
    const page = { users: [] as ReturnType<typeof toUserRecord>[], nextPageToken: "", cursor: "" };
    call.on("metadata", (metadata: Metadata) => {
      const header = metadata.get("x-snapshot-cursor")[0];
      if (typeof header === "string") page.cursor = header;
    });
    call.on("data", (item: ListUsersResponse) => {
      if (item.user) page.users.push(toUserRecord(item.user));
      if (item.nextPageToken) page.nextPageToken = item.nextPageToken;
    });
    call.on("error", reject);
    call.on("end", () => resolve(page));
  });
}

/**
 * The REST twin of the user service, over gRPC: `GET /api/users/:id` and
 * `GET /api/users?page_size=&page_token=` (reads, sent without any credential), and the page's
 * users form, `POST /api/users`, `PUT /api/users/:id`, `DELETE /api/users/:id`. The events of
 * changes come back through the live users feed.
 */
export function usersRouter(users: UserServiceClient | undefined, logger: Logger, options: { credential?: string | undefined } = {}): Router {
  const router = Router();
  const deadline = () => ({ deadline: new Date(Date.now() + 5_000) });

  /** Answers with `body()`, or the error it threw mapped to an HTTP status. */
  const answer = async (res: Response, body: (client: UserServiceClient) => Promise<object>, okStatus = 200) => {
    if (!users) return res.status(503).json({ error: { code: "UNAVAILABLE", message: "USERS_TARGET is not configured" } });
    try {
      res.status(okStatus).json(await body(users));
    } catch (error) {
      if (error instanceof z.ZodError) {
        const issue = error.issues[0];
        const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
        return res.status(400).json({ error: { code: "INVALID_ARGUMENT", message: `${where}${issue?.message ?? "invalid"}` } });
      }
      if (isServiceError(error)) {
        const http = httpStatusOf[error.code] ?? 502;
        if (http >= 500) logger.warn({ err: error }, "user service call failed");
        const anonymous = error.code === status.UNAUTHENTICATED && typeof res.locals.subject !== "string";
        const message = anonymous ? notLent : error.details || error.message;
        return res.status(http).json({ error: { code: status[error.code] ?? "UNKNOWN", message } });
      }
      logger.error({ err: error }, "users API failed");
      res.status(500).json({ error: { code: "INTERNAL", message: "internal error" } });
    }
  };
  const run = (res: Response, work: () => Promise<unknown>, okStatus = 200) => answer(res, async () => ({ user: await work() }), okStatus);

  router.get("/", (req: Request, res: Response) =>
    answer(res, async (client) => {
      const query = listQuery.parse(req.query);
      return listPage(client, { pageSize: query.page_size, pageToken: query.page_token }, deadline().deadline);
    }),
  );

  router.get("/:id", (req: Request, res: Response) =>
    run(res, async () => {
      const id = idParam.parse(req.params.id);
      const reply = await call<{ user?: Parameters<typeof toUserRecord>[0] }>((cb) => users?.getUser({ id }, new Metadata(), deadline(), cb));
      return reply.user && toUserRecord(reply.user);
    }),
  );

  router.post("/", (req: Request, res: Response) =>
    run(
      res,
      async () => {
        const body = createBody.parse(req.body);
        const reply = await call<{ user?: Parameters<typeof toUserRecord>[0] }>((cb) => users?.createUser(body, writeMetadata(res, options.credential), deadline(), cb));
        return reply.user && toUserRecord(reply.user);
      },
      201,
    ),
  );

  router.put("/:id", (req: Request, res: Response) =>
    run(res, async () => {
      const id = idParam.parse(req.params.id);
      const body = updateBody.parse(req.body);
      const reply = await call<{ user?: Parameters<typeof toUserRecord>[0] }>((cb) => users?.updateUser({ id, ...body }, writeMetadata(res, options.credential), deadline(), cb));
      return reply.user && toUserRecord(reply.user);
    }),
  );

  router.delete("/:id", (req: Request, res: Response) =>
    run(res, async () => {
      const id = idParam.parse(req.params.id);
      const reply = await call<{ user?: Parameters<typeof toUserRecord>[0] }>((cb) => users?.deleteUser({ id }, writeMetadata(res, options.credential), deadline(), cb));
      return reply.user && toUserRecord(reply.user);
    }),
  );

  return router;
}
