import { UserUpdate, type UserServiceServer } from "../gen/userservice/handout.js";
import { validId } from "../store/user-validation.js";
import { EncodedUpdates } from "./encoded-updates.js";
import { serverStream, unary } from "./handlers.js";
import { writeOrWait, type ServiceContext } from "./service-context.js";
import { serveSubscription } from "./subscription-stream.js";
import { handoutActionOf, toHandoutUser } from "./user-mapping.js";

/**
 * The handout's `userservice.UserService`, over the same store and event stream as v1, so a
 * client generated from the handout sees the same users and real changes.
 */
export function createHandoutService(ctx: ServiceContext): UserServiceServer {
  const { store, logger } = ctx;
  const updates = new EncodedUpdates((event) =>
    UserUpdate.encode({ action: handoutActionOf[event.type], user: toHandoutUser(event.user) }).finish(),
  );
  return {
    getUser: unary(logger, async (call) => toHandoutUser(await store.get(validId(call.request.id)))),

    createUser: unary(logger, async (call) => toHandoutUser((await store.create(call.request)).user)),

    listUsers: serverStream(logger, async (call) => {
      for await (const user of store.scan({ afterId: 0, nameFilter: "" })) {
        if (!(await writeOrWait(call, toHandoutUser(user)))) return;
      }
    }),

    // The handout's version polled and re-sent everyone every 2 s; this one sends each real
    // change once, as it happens, from any replica. It ends the call itself.
    subscribeToUpdates(call) {
      void serveSubscription(ctx, call, undefined, updates);
    },
  };
}
