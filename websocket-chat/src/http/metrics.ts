import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/**
 * This replica's metrics, in its own registry (never prom-client's global one): three replicas
 * in one test process each report their own numbers, all labelled with `replica`.
 */
export function createChatMetrics(
  serverId: string,
  sample: { sockets: () => number; rooms: () => number; usersSubscribers: () => number; largestSendBuffer: () => number },
) {
  const registry = new Registry();
  registry.setDefaultLabels({ replica: serverId });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    sockets: new Gauge({
      name: "chat_sockets",
      help: "Sockets connected to this replica",
      registers: [registry],
      collect() {
        this.set(sample.sockets());
      },
    }),
    rooms: new Gauge({
      name: "chat_rooms",
      help: "Rooms with at least one socket on this replica",
      registers: [registry],
      collect() {
        this.set(sample.rooms());
      },
    }),
    messagesIn: new Counter({
      name: "chat_messages_in_total",
      help: "Messages accepted from this replica's sockets",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    messagesOut: new Counter({
      name: "chat_messages_out_total",
      help: "Messages delivered to this replica's sockets",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    roomChannelMessages: new Counter({
      name: "chat_room_channel_messages_total",
      help: "Room and inbox messages this replica received from Redis pub/sub (only rooms it has sockets in)",
      registers: [registry],
    }),
    roomChannelBytes: new Counter({
      name: "chat_room_channel_bytes_total",
      help: "Bytes of those messages (their JSON)",
      registers: [registry],
    }),
    rejected: new Counter({
      name: "chat_rejected_total",
      help: "Client events refused, by error code",
      labelNames: ["code"] as const,
      registers: [registry],
    }),
    slowConsumers: new Counter({
      name: "chat_slow_consumers_total",
      help: "Connections cut off because more than CHAT_MAX_BUFFERED_BYTES waited to be written to them",
      registers: [registry],
    }),
    largestSendBuffer: new Gauge({
      name: "chat_send_buffer_max_bytes",
      help: "Bytes waiting to be written to this replica's most backed-up connection (bounded by CHAT_MAX_BUFFERED_BYTES)",
      registers: [registry],
      collect() {
        this.set(sample.largestSendBuffer());
      },
    }),
    usersSubscribers: new Gauge({
      name: "chat_users_subscribers",
      help: "Sockets subscribed to this replica's live users feed",
      registers: [registry],
      collect() {
        this.set(sample.usersSubscribers());
      },
    }),
    usersPagesEncoded: new Counter({
      name: "chat_users_pages_encoded_total",
      help: "Users snapshot pages encoded (each is then shared by every socket asking for it until a change in its range)",
      registers: [registry],
    }),
    usersFeedResets: new Counter({
      name: "chat_users_feed_resets_total",
      help: "Times the users event stream was found reset (Redis wiped) and the feed reloaded its snapshot",
      registers: [registry],
    }),
    userEvents: new Counter({
      name: "chat_user_events_total",
      help: "Users domain events read from the stream by this replica",
      registers: [registry],
    }),
  };
}

export type ChatMetrics = ReturnType<typeof createChatMetrics>;
