import { Metadata, status, type ServerWritableStream } from "@grpc/grpc-js";
import type { UserEventEntry, UserRecord } from "../events/user-event.js";
import {
  SubscribeToUpdatesResponse,
  type ImportError,
  type ImportUsersRequest,
  type ListUsersRequest,
  type ListUsersResponse,
  type LookupUsersRequest,
  type LookupUsersResponse,
  type UserServiceServer,
} from "../gen/userservice/v1/user_service.js";
import { UserError } from "../store/user-errors.js";
import { validId } from "../store/user-validation.js";
import { codeName, toStatus } from "./grpc-errors.js";
import { EncodedUpdates } from "./encoded-updates.js";
import { clientStream, serverStream, unary } from "./handlers.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import { writeOrWait, type ServiceContext } from "./service-context.js";
import { serveSubscription } from "./subscription-stream.js";
import { actionOf, toUserMessage } from "./user-mapping.js";

/** Errors reported per import; the counts still cover every row. */
const MAX_IMPORT_ERRORS = 1000;

function toUpdate(event: UserEventEntry): SubscribeToUpdatesResponse {
  return {
    action: actionOf[event.type],
    user: toUserMessage(event.user),
    cursor: event.cursor,
    occurredAt: new Date(event.occurredAt),
    origin: event.origin,
  };
}

/** userservice.v1.UserService, typed by the generated server interface. */
export function createUserServiceV1(ctx: ServiceContext): UserServiceServer {
  const { store, logger } = ctx;
  const updates = new EncodedUpdates((event) => SubscribeToUpdatesResponse.encode(toUpdate(event)).finish());
  return {
    getUser: unary(logger, async (call) => ({ user: toUserMessage(await store.get(validId(call.request.id))) })),

    createUser: unary(logger, async (call) => ({ user: toUserMessage((await store.create(call.request)).user) })),

    updateUser: unary(logger, async (call) => {
      const { id, name, email } = call.request;
      if (name === undefined && email === undefined) {
        throw new UserError("INVALID_ARGUMENT", "nothing to update: set name and/or email", "name");
      }
      return { user: toUserMessage((await store.update(id, { name, email })).user) };
    }),

    deleteUser: unary(logger, async (call) => ({ user: toUserMessage((await store.delete(call.request.id)).user) })),

    listUsers: serverStream(logger, (call) => listUsers(ctx, call)),

    // Stays open after serveSubscription returns (it ends the call itself, errors included).
    subscribeToUpdates(call) {
      const since = call.request.sinceCursor.trim();
      void serveSubscription(ctx, call, since === "" ? undefined : since, updates);
    },

    importUsers: clientStream(logger, async (call) => {
      let received = 0;
      let created = 0;
      const errors: ImportError[] = [];
      for await (const row of call as AsyncIterable<ImportUsersRequest>) {
        const index = received++;
        try {
          await store.create(row);
          created += 1;
        } catch (error) {
          const mapped = toStatus(error, logger);
          if (mapped.code === status.INTERNAL || mapped.code === status.UNAVAILABLE) throw error;
          if (errors.length < MAX_IMPORT_ERRORS) errors.push({ index, code: codeName(mapped.code), message: mapped.details });
        }
      }
      return { receivedCount: received, createdCount: created, failedCount: received - created, errors };
    }),

    lookupUsers(call) {
      const answer = async (id: number): Promise<LookupUsersResponse> => {
        try {
          return { id, user: toUserMessage(await store.get(id)) };
        } catch (error) {
          const mapped = toStatus(error, logger);
          if (mapped.code === status.INTERNAL || mapped.code === status.UNAVAILABLE) throw error;
          return { id, error: { code: codeName(mapped.code), message: mapped.details } };
        }
      };
      // One chain keeps answers in the order asked while ids keep arriving; pausing the
      // reader while an answer waits for 'drain' keeps a fast writer from queueing unbounded.
      let chain = Promise.resolve(true);
      const fail = (error: unknown) => {
        if (!call.cancelled) call.emit("error", toStatus(error, logger));
        return false;
      };
      call.on("data", (request: LookupUsersRequest) => {
        call.pause();
        chain = chain
          .then(async (open) => open && writeOrWait(call, await answer(request.id)))
          .catch(fail)
          .finally(() => call.resume());
      });
      call.on("end", () => {
        void chain.then((open) => open && call.end());
      });
    },
  };
}

async function listUsers(ctx: ServiceContext, call: ServerWritableStream<ListUsersRequest, ListUsersResponse>) {
  const { pageSize, pageToken, nameFilter } = call.request;
  if (pageSize < 0) throw new UserError("INVALID_ARGUMENT", "page_size must not be negative", "page_size");
  const afterId = pageToken === "" ? 0 : decodePageToken(pageToken);
  const limit = pageSize === 0 ? Number.POSITIVE_INFINITY : pageSize;
  const cursor = await ctx.store.latestCursor();
  // The snapshot cursor also travels as a header, so an empty page still carries it.
  const headers = new Metadata();
  headers.set("x-snapshot-cursor", cursor);
  call.sendMetadata(headers);
  // Each user is written one step late, so the last of a page can carry next_page_token when
  // (and only when) another user exists past it.
  let held: UserRecord | undefined;
  let count = 0;
  for await (const user of ctx.store.scan({ afterId, nameFilter })) {
    if (held) {
      const last = count === limit;
      const message = { user: toUserMessage(held), cursor, nextPageToken: last ? encodePageToken(held.id) : "" };
      if (!(await writeOrWait(call, message)) || last) return;
    }
    held = user;
    count += 1;
  }
  if (held) await writeOrWait(call, { user: toUserMessage(held), cursor, nextPageToken: "" });
}
