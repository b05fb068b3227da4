import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectUsers, unary, type CreateUserResponse, type UserServiceClient } from "grpc-demo/client";
import { enterChat, launchChromium, openPage, say, shownMessages, waitForMembers, waitForMessages, type Participant } from "./support/browser.js";
import { startStack, stopProcess, type E2EStack } from "@clusterkit/test-kit/stack";

/**
 * The page as a participant uses it: real Chromium, through nginx, in front of three chat
 * processes, one user-service replica and one redis-server, all on 127.0.0.1.
 */
/** Where the chat and live-view screenshots go: `E2E_SCREENSHOTS=docs/screenshots` refreshes the README's. */
let screenshots: string;
const XSS = "<img src=x onerror=alert(1)>";

let stack: E2EStack;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;
let grpc: UserServiceClient;
const opened: Participant[] = [];

beforeAll(async () => {
  [stack, chromium] = await Promise.all([startStack(), launchChromium()]);
  browser = chromium.browser;
  grpc = await connectUsers(stack.users.target);
  screenshots = process.env.E2E_SCREENSHOTS ? resolve(process.env.INIT_CWD ?? process.cwd(), process.env.E2E_SCREENSHOTS) : join(stack.dir, "screenshots");
  await mkdir(screenshots, { recursive: true });
});
afterAll(async () => {
  grpc?.close();
  await chromium?.close();
  await stack?.close();
});

async function participant(sessionKey?: string): Promise<Participant> {
  const p = await openPage(browser, stack.url, sessionKey ? { sessionKey } : {});
  opened.push(p);
  return p;
}

/** A new participant in `room` on a replica none of `others` is on (nginx spreads WebSockets round-robin). */
async function participantAwayFrom(nickname: string, room: string, ...others: Participant[]): Promise<Participant> {
  const taken = new Set(await Promise.all(others.map((o) => o.replica())));
  // Every attempt is the same browser: the first attempt's key keeps the nickname reserved.
  const sessionKey = randomUUID();
  for (let attempt = 0; attempt < 8; attempt++) {
    const p = await participant(sessionKey);
    await enterChat(p, nickname, room);
    if (!taken.has(await p.replica())) return p;
    await p.context.close();
  }
  throw new Error(`nginx kept placing new pages on ${[...taken].join(", ")}`);
}

let ada: Participant;
let grace: Participant;
const roomLog: string[] = [];

describe("chat through nginx", () => {
  it("two participants on different replicas chat in one room", async () => {
    ada = await participant();
    await enterChat(ada, "ada", "general");
    grace = await participantAwayFrom("grace", "general", ada);
    expect(await grace.replica()).not.toBe(await ada.replica());
    await waitForMembers(ada, ["ada", "grace"]);

    await say(ada, "hello from ada");
    await say(grace, "hi ada, grace here");
    roomLog.push("hello from ada", "hi ada, grace here");
    await waitForMessages(ada, roomLog, true);
    await waitForMessages(grace, roomLog, true);
  });

  it("updates member lists on join and leave", async () => {
    const linus = await participant();
    await enterChat(linus, "linus", "general");
    await waitForMembers(ada, ["ada", "grace", "linus"]);
    await waitForMembers(grace, ["ada", "grace", "linus"]);
    await waitForMembers(linus, ["ada", "grace", "linus"]);
    await linus.context.close();
    await waitForMembers(ada, ["ada", "grace"]);
    await waitForMembers(grace, ["ada", "grace"]);
  });

  it("delivers a private message to its target only", async () => {
    const linus = await participant();
    await enterChat(linus, "linus2", "general");
    await waitForMembers(ada, ["ada", "grace", "linus2"]);
    await ada.page.locator(".member-list li", { hasText: "grace" }).locator("button", { hasText: "message" }).click();
    await ada.page.fill("textarea[aria-label=Message]", "psst, only for grace");
    await ada.page.press("textarea[aria-label=Message]", "Enter");
    await grace.page.waitForSelector(".direct-list li:has-text('from ada'):has-text('psst, only for grace')");
    await ada.page.waitForSelector(".direct-list li:has-text('to grace')");
    // The composer is back in the room by itself (handout-and-composer.e2e.test.ts).

    // linus2 gets the next room message but never saw the private one.
    await say(ada, "back in the room");
    roomLog.push("back in the room");
    await waitForMessages(linus, roomLog.slice(-1));
    expect(await linus.page.locator(".direct-list li").count()).toBe(0);
    expect(await shownMessages(linus)).not.toContain("psst, only for grace");
    await linus.context.close();
    await waitForMembers(ada, ["ada", "grace"]);
  });

  it("shows the room's history after a reload", async () => {
    await grace.page.reload();
    await enterChat(grace, "grace", "general");
    await waitForMessages(grace, roomLog, true);
  });

  it(`shows ${XSS} as text, not markup`, async () => {
    await say(ada, XSS);
    roomLog.push(XSS);
    await waitForMessages(grace, roomLog, true);
    for (const p of [ada, grace]) {
      expect(await p.page.locator(".messages img").count()).toBe(0);
      expect(p.dialogs).toEqual([]);
    }
  });

  it("a page whose replica is SIGKILLed shows reconnecting, then recovers exactly what it missed", async () => {
    const victimReplica = await ada.replica();
    let writer = grace;
    if ((await grace.replica()) === victimReplica) {
      writer = await participantAwayFrom("hopper", "general", ada);
    }
    const victim = stack.chats.find((c) => c.serverId === victimReplica)!;
    // Offline first, so the messages below are certainly sent while ada is away (otherwise a
    // fast reconnect would receive some live, and "recovered n" would vary from run to run).
    await ada.context.setOffline(true);
    await stopProcess(victim, "SIGKILL");
    await ada.page.waitForFunction(() => document.querySelector(".topbar .status")?.textContent === "reconnecting…");

    const missed = ["sent while ada was away 1", "sent while ada was away 2", "sent while ada was away 3"];
    for (const text of missed) await say(writer, text);
    roomLog.push(...missed);
    await ada.context.setOffline(false);

    await ada.page.waitForFunction(
      () => /^recovered 3 messages · chat-\d+$/.test(document.querySelector(".topbar .status")?.textContent ?? ""),
      undefined,
      { timeout: 20_000 },
    );
    expect(await ada.replica()).not.toBe(victimReplica);
    await waitForMessages(ada, roomLog, true);
    await say(ada, "ada is back");
    roomLog.push("ada is back");
    await waitForMessages(writer, roomLog.slice(-1));
    const shown = await shownMessages(ada);
    expect(shown).toEqual(roomLog);
    expect(new Set(shown).size).toBe(shown.length);
    await ada.page.screenshot({ path: join(screenshots, "chat.png") });
  });
});

describe("live users view", () => {
  const create = async (name: string, email: string) =>
    (await unary<CreateUserResponse>((cb) => grpc.createUser({ name, email }, cb))).response.user!;
  const row = (p: Participant, id: number) => p.page.locator(`tbody tr[data-id="${id}"]`);
  const logged = (p: Participant, kind: string, text: string) =>
    p.page.waitForSelector(`.event-log li.event.${kind}:has-text(${JSON.stringify(text)})`);

  it("adds, changes and removes rows as users are created, updated and deleted through gRPC, and logs each event", async () => {
    const page = grace;
    await page.page.click("button[role=tab]:has-text('Live users')");
    await page.page.waitForFunction(() => /^live · via chat-\d+$/.test(document.querySelector(".users-layout .pill")?.textContent ?? ""));
    const before = await page.page.locator("tbody tr").count();

    const hopper = await create("Grace Hopper", "grace@example.org");
    await row(page, hopper.id).filter({ hasText: "Grace Hopper" }).waitFor();
    await logged(page, "created", `#${hopper.id} Grace Hopper`);

    await unary((cb) => grpc.updateUser({ id: hopper.id, name: "Rear Admiral Grace Hopper" }, cb));
    await row(page, hopper.id).filter({ hasText: "Rear Admiral Grace Hopper" }).waitFor();
    await logged(page, "updated", `#${hopper.id} Rear Admiral Grace Hopper`);

    const temp = await create("Temporary", "temp@example.org");
    await row(page, temp.id).waitFor();
    await unary((cb) => grpc.deleteUser({ id: temp.id }, cb));
    await row(page, temp.id).waitFor({ state: "detached" });
    await logged(page, "deleted", `#${temp.id} Temporary`);

    const lovelace = await create("Ada Lovelace", "ada@example.org");
    await row(page, lovelace.id).waitFor();
    const xss = await create(XSS, "mallory@example.org");
    await row(page, xss.id).waitFor();
    expect(await row(page, xss.id).locator("td").nth(1).textContent()).toBe(XSS);
    await logged(page, "created", `#${xss.id} ${XSS}`);
    expect(await page.page.locator(".users-layout img").count()).toBe(0);
    expect(page.dialogs).toEqual([]);
    expect(await page.page.locator("tbody tr").count()).toBe(before + 3);
    await page.page.screenshot({ path: join(screenshots, "live-users.png") });
  });
});
