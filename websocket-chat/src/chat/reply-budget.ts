/**
 * The newest of `messages` (oldest first) whose JSON fits in `maxBytes`, oldest first. Every
 * packet counts against CHAT_MAX_BUFFERED_BYTES (slow-consumer.ts), so a join or identify reply
 * larger than that would cut its own client off, again on every reconnect; the oldest messages
 * give way instead, and the reply says so.
 */
export function newestWithin<T>(messages: T[], maxBytes: number): { messages: T[]; dropped: boolean } {
  let bytes = 0;
  let from = messages.length;
  while (from > 0) {
    const size = Buffer.byteLength(JSON.stringify(messages[from - 1])) + 1;
    if (bytes + size > maxBytes) break;
    bytes += size;
    from -= 1;
  }
  return from === 0 ? { messages, dropped: false } : { messages: messages.slice(from), dropped: true };
}
