import type { ChannelOptions } from "@grpc/grpc-js";
import type { UserServiceConfig } from "../config.js";

/** Keepalive ping interval: a client that vanished (a laptop that slept) is noticed this soon. */
const KEEPALIVE_TIME_MS = 30_000;
/** A ping not answered this fast closes the connection. */
const KEEPALIVE_TIMEOUT_MS = 10_000;

export type ServerLimits = Pick<
  UserServiceConfig,
  "maxConnectionAgeMs" | "maxConnectionAgeGraceMs" | "maxConcurrentStreams" | "maxReceiveMessageBytes" | "maxConnectionIdleMs"
>;

/**
 * The grpc-js server options, each set on purpose: grpc-js's own defaults bound nothing a client
 * controls (unlimited streams per connection, 4 MB messages, connections kept forever), so one
 * client could make a replica hold hundreds of partly received messages (finding 11.5).
 */
export function serverOptions(limits: ServerLimits): ChannelOptions {
  return {
    // Sent in SETTINGS: a connection's calls beyond this are refused (REFUSED_STREAM) by HTTP/2
    // itself; well-behaved clients queue them. Memory a connection can pin is about
    // streams × max message.
    "grpc.max_concurrent_streams": limits.maxConcurrentStreams,
    // Checked against each message's length prefix before its body is buffered: an oversized
    // message costs nothing and gets RESOURCE_EXHAUSTED.
    "grpc.max_receive_message_length": limits.maxReceiveMessageBytes,
    // Close each connection after a while so clients re-resolve and new replicas get traffic;
    // after the GOAWAY, open calls (subscriptions) get the grace period, then are cut. This also
    // ends whatever a connection keeps open on purpose (a message never finished).
    "grpc.max_connection_age_ms": limits.maxConnectionAgeMs,
    "grpc.max_connection_age_grace_ms": limits.maxConnectionAgeGraceMs,
    // A connection with no call open is closed after this; grpc-js keeps it forever by default.
    "grpc.max_connection_idle_ms": limits.maxConnectionIdleMs,
    // Ping idle clients so half-open connections are dropped.
    "grpc.keepalive_time_ms": KEEPALIVE_TIME_MS,
    "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
    // Nothing here serves channelz (health and reflection only), and its bookkeeping runs on
    // every call: counters, two Date.now() and a tracker object per call.
    "grpc.enable_channelz": 0,
  };
}
