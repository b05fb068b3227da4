import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enterChat, launchChromium, openPage, say, type Participant } from "./support/browser.js";
import { startStack, type E2EStack } from "@clusterkit/test-kit/stack";

/**
 * /cluster.html in real Chromium, through nginx, over three chat processes, one user-service
 * replica and one redis-server: the boxes are there and their counters move as people chat.
 * Also the chat page's Log out button, which needs the same stack.
 */
let stack: E2EStack;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let screenshots: string;

beforeAll(async () => {
  [stack, chromium] = await Promise.all([startStack(), launchChromium()]);
  screenshots = process.env.E2E_SCREENSHOTS ? resolve(process.env.INIT_CWD ?? process.cwd(), process.env.E2E_SCREENSHOTS) : join(stack.dir, "screenshots");
  await mkdir(screenshots, { recursive: true });
});
afterAll(async () => {
  await chromium?.close();
  await stack?.close();
});

/** Sum of one counter over every chat replica's box. */
const total = (p: Participant, name: string) =>
  p.page.evaluate(
    (name) => [...document.querySelectorAll(`.node.chat [data-stat="${name}"] .stat-value`)].reduce((sum, el) => sum + Number(el.textContent), 0),
    name,
  );

describe("the cluster page", () => {
  it("shows a box per replica whose counters move while people chat, and the path of a message", async () => {
    const watcher = await openPage(chromium.browser, `${stack.url}/cluster.html`);
    await watcher.page.waitForFunction(() => document.querySelectorAll(".node.chat").length === 3);
    expect(await watcher.page.locator(".node.chat header strong").allTextContents()).toEqual(["chat-1", "chat-2", "chat-3"]);
    await watcher.page.locator('.node.users[data-replica="users-1"]').waitFor();
    await watcher.page.locator(".node.redis").waitFor();
    expect(await watcher.page.locator(".topbar .status").textContent()).toMatch(/^live · via chat-\d$/);
    const before = await total(watcher, "messagesIn");

    const ada = await openPage(chromium.browser, stack.url);
    await enterChat(ada, "ada", "general");
    const took = await ada.replica();
    await say(ada, "watch me travel");
    await watcher.page.waitForFunction((n) => {
      const values = [...document.querySelectorAll('.node.chat [data-stat="messagesIn"] .stat-value')];
      return values.reduce((sum, el) => sum + Number(el.textContent), 0) > n;
    }, before);
    expect(await total(watcher, "messagesIn")).toBe(before + 1);
    // Ada's own page is a delivery too: the path names the replica that took it and delivered it.
    const path = watcher.page.locator(".paths li.path", { hasText: "#general" }).first();
    await path.waitFor();
    expect(await path.locator(".hop.took").textContent()).toBe(took);
    expect(await path.locator(".hop.delivered").allTextContents()).toContain(`${took} ×1`);
    await watcher.page.locator(`.node.chat.took[data-replica="${took}"]`).waitFor();

    // A second participant answers: two messages, two paths, for the README's screenshot.
    const grace = await openPage(chromium.browser, stack.url);
    await enterChat(grace, "grace", "general");
    await say(grace, "seen it");
    // Both pages get the reply: once every replica has beaten, its path counts two deliveries.
    await watcher.page.waitForFunction(() => {
      const newest = document.querySelector(".paths li.path");
      const hops = [...(newest?.querySelectorAll(".hop.delivered") ?? [])];
      return document.querySelectorAll(".paths li.path").length >= 2 && hops.reduce((n, el) => n + Number(el.textContent?.split("×")[1]), 0) === 2;
    });
    await watcher.page.screenshot({ path: join(screenshots, "cluster.png"), fullPage: true });
    expect(watcher.dialogs).toEqual([]);
  });
});

describe("the chat page's Log out button", () => {
  it("returns to the login card and gives the nickname back to another browser", async () => {
    const first = await openPage(chromium.browser, stack.url);
    await enterChat(first, "hopper", "logout-room");
    const second = await openPage(chromium.browser, stack.url);
    await second.page.fill("input[name=nickname]", "hopper");
    await second.page.fill("input[name=room]", "logout-room");
    await second.page.click("form.login button[type=submit]");
    await second.page.waitForSelector("form.login .form-error:has-text('already used')");

    await first.page.click(".topbar button:has-text('Log out')");
    await first.page.waitForSelector("form.login");
    await second.page.click("form.login button[type=submit]");
    await second.page.waitForSelector(".chat-layout:not([hidden])");
    expect(await second.page.locator(".topbar .who").textContent()).toBe("signed in as hopper");
  });
});
