import { afterAll, afterEach, beforeAll } from "vitest";
import { ChatTester, type ChatTesterOptions } from "./chat-client.js";
import { Kit } from "./kit.js";

export interface ChatProfile {
  kit: Kit;
  /** nginx's published port on the host: where every client connects, as a browser would. */
  url: string;
  /** The clients `connect` made that are still open (each closed after its test). */
  clients: ChatTester[];
  /** A client of its own (its own cookies, like one browser), closed after the test. */
  connect(nickname: string, options?: ChatTesterOptions): Promise<ChatTester>;
}

/**
 * For a test file: profile `chat` up (redis, chat x3, nginx) with `env` for compose, in
 * `beforeAll`; the clients of each test closed after it; everything down in `afterAll`.
 */
export function useChatProfile(env: Record<string, string> = {}): ChatProfile {
  const clients: ChatTester[] = [];
  const profile = { clients } as ChatProfile;
  profile.connect = async (nickname, options = {}) => {
    const client = await ChatTester.connect(profile.url, nickname, options);
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    profile.kit = await Kit.start({ profile: "chat", services: ["redis", "chat", "nginx"], scale: { chat: 3 }, env });
    const [nginx] = await profile.kit.containers("nginx");
    profile.url = `http://127.0.0.1:${await profile.kit.hostPort(nginx!.id, 80)}`;
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await profile.kit?.down();
  });
  return profile;
}
