import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** What the gauges read at scrape time, from the parts `createChatServer` wires. */
export interface MetricSamples {
  sockets: () => number;
  rooms: () => number;
  usersSubscribers: () => number;
  largestSendBuffer: () => number;
}

/**
 * This replica's metrics, in its own registry (never prom-client's global one): three replicas
 * in one test process each report their own numbers, all labelled with `replica`. Created first
 * by `createChatServer` and handed to the parts that count (handlers, router, io server, app):
 * none of them imports an instance. The gauges read those parts at scrape time, once `observe`
 * has named them (they report nothing before).
 */
export function createChatMetrics(serverId: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ replica: serverId });
  collectDefaultMetrics({ register: registry });
  let observed: MetricSamples | undefined;
  const gauge = (name: string, help: string, read: (parts: MetricSamples) => number) =>
    new Gauge({ name, help, registers: [registry], collect() { if (observed) this.set(read(observed)); } });
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  const countedBy = <L extends string>(label: L, name: string, help: string) =>
    new Counter<L>({ name, help, labelNames: [label], registers: [registry] });
  return {
    registry,
    /** Where the gauges read from: the parts built after the metrics. */
    observe(parts: MetricSamples): void {
      observed = parts;
    },
    sockets: gauge("chat_sockets", "Sockets connected to this replica", (parts) => parts.sockets()),
    rooms: gauge("chat_rooms", "Rooms with at least one socket on this replica", (parts) => parts.rooms()),
    messagesIn: countedBy("kind", "chat_messages_in_total", "Messages accepted from this replica's sockets"),
    messagesOut: countedBy("kind", "chat_messages_out_total", "Messages delivered to this replica's sockets"),
    roomChannelMessages: counter(
      "chat_room_channel_messages_total",
      "Room and inbox messages this replica received from Redis pub/sub (only rooms it has sockets in)",
    ),
    roomChannelBytes: counter("chat_room_channel_bytes_total", "Bytes of those messages (their JSON)"),
    rejected: countedBy("code", "chat_rejected_total", "Client events refused, by error code"),
    slowConsumers: counter(
      "chat_slow_consumers_total",
      "Connections cut off because more than CHAT_MAX_BUFFERED_BYTES waited to be written to them",
    ),
    largestSendBuffer: gauge(
      "chat_send_buffer_max_bytes",
      "Bytes waiting to be written to this replica's most backed-up connection (bounded by CHAT_MAX_BUFFERED_BYTES)",
      (parts) => parts.largestSendBuffer(),
    ),
    usersSubscribers: gauge("chat_users_subscribers", "Sockets subscribed to this replica's live users feed", (parts) => parts.usersSubscribers()),
    usersPagesEncoded: counter(
      "chat_users_pages_encoded_total",
      "Users snapshot pages encoded (each is then shared by every socket asking for it until a change in its range)",
    ),
    usersFeedResets: counter(
      "chat_users_feed_resets_total",
      "Times the users event stream was found reset (Redis wiped) and the feed reloaded its snapshot",
    ),
    userEvents: counter("chat_user_events_total", "Users domain events read from the stream by this replica"),
  };
}

export type ChatMetrics = ReturnType<typeof createChatMetrics>;
