import {
  ErrorReply,
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
} from "redis";

/** node-redis errors meaning the connection is down (or being closed), not that a command was wrong. */
const connectionErrors = [
  ClientOfflineError,
  ClientClosedError,
  SocketClosedUnexpectedlyError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
];

/** Socket errors node-redis hands to the commands in flight when Redis dies under them. */
const lostConnectionCodes = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);

/**
 * Replies of a Redis Cluster between a master's failure and its replica's promotion (CLUSTERDOWN,
 * TRYAGAIN), or of a node still loading its data: the command was not run, and may be retried.
 */
const transientReplies = /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING) /;

/**
 * Whether an error means "Redis is not reachable right now" (a client may retry shortly) rather
 * than a bug or a rejected command.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (connectionErrors.some((type) => error instanceof type)) return true;
  if (error instanceof ErrorReply && transientReplies.test(error.message)) return true;
  return lostConnectionCodes.has((error as NodeJS.ErrnoException).code ?? "");
}
