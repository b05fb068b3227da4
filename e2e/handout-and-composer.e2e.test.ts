import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enterChat, launchChromium, openPage, say, waitForMembers, waitForMessages, type Participant } from "./support/browser.js";
import { startStack, type E2EStack } from "@clusterkit/test-kit/stack";

/**
 * The walkthrough's rough edges (issue 12.5), as a participant meets them in Chromium through
 * nginx: the handout's page next to the kit's, and the composer after a private message.
 */
let stack: E2EStack;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;

beforeAll(async () => {
  // One chat replica: the handout page starts with long-polling, and what pins polling to a
  // replica is nginx's business (tested with nginx), not these pages'.
  [stack, chromium] = await Promise.all([startStack({ replicas: 1 }), launchChromium()]);
  browser = chromium.browser;
});
afterAll(async () => {
  await chromium?.close();
  await stack?.close();
});

/** The handout page in its own browser context, with every CSP violation it reports. */
async function openHandout(room: string): Promise<{ page: Page; violations: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${stack.url}/handout.html?room=${room}`);
  return { page, violations };
}

const handoutMembers = (page: Page) => page.locator("#members li").allTextContents();

describe("/handout.html", () => {
  it("is styled within the CSP, shows the sender's nickname, and lists the sender among the room's members", async () => {
    const ada: Participant = await openPage(browser, stack.url);
    await enterChat(ada, "ada", "handout-room");

    const handout = await openHandout("handout-room");
    await handout.page.fill("#nickname-input", "hank");
    await handout.page.click("#identify button[type=submit]");
    await handout.page.waitForFunction(() => document.querySelector("#identity")?.textContent?.startsWith("you are hank"));

    // The sender is a member: on the kit's page and on its own.
    await waitForMembers(ada, ["ada", "hank"]);
    await handout.page.waitForFunction(() => document.querySelectorAll("#members li").length === 2);
    expect((await handoutMembers(handout.page)).sort()).toEqual(["ada", "hank"]);

    // Its messages carry the nickname, not the socket id, on both pages.
    await handout.page.fill("#message-input", "hello from the handout");
    await handout.page.press("#message-input", "Enter");
    await waitForMessages(ada, ["hello from the handout"]);
    expect(await ada.page.locator(".messages li.message", { hasText: "hello from the handout" }).locator(".meta strong").textContent()).toBe("hank");
    await handout.page.waitForSelector("#messages li:has-text('hello from the handout')");
    expect(await handout.page.locator("#messages li .sender").last().textContent()).toBe("hank");
    await say(ada, "hi hank");
    await handout.page.waitForSelector("#messages li:has-text('hi hank') .sender:text-is('ada')");

    // Styled by its stylesheet file (an inline <style> is what the CSP blocked).
    const styled = await handout.page.evaluate(() => ({
      sheet: [...document.styleSheets].some((sheet) => sheet.href?.endsWith("/handout.css") && sheet.cssRules.length > 0),
      composer: getComputedStyle(document.querySelector("#composer")!).display,
      layout: getComputedStyle(document.querySelector(".layout")!).display,
    }));
    expect(styled).toEqual({ sheet: true, composer: "flex", layout: "grid" });
    expect(handout.violations).toEqual([]);
    await handout.page.screenshot({ path: join(stack.dir, "handout.png") });
    if (process.env.E2E_KEEP_SCREENSHOT) await handout.page.screenshot({ path: process.env.E2E_KEEP_SCREENSHOT });

    // Leaving takes the sender off the kit page's member list again.
    await handout.page.context().close();
    await waitForMembers(ada, ["ada"]);
    await ada.context.close();
  });
});

describe("the kit's composer", () => {
  it("goes back to the room after a private message is sent", async () => {
    const ada = await openPage(browser, stack.url);
    await enterChat(ada, "ada2", "composer-room");
    const bob = await openPage(browser, stack.url);
    await enterChat(bob, "bob2", "composer-room");
    await waitForMembers(ada, ["ada2", "bob2"]);

    await ada.page.locator(".member-list li", { hasText: "bob2" }).locator("button", { hasText: "message" }).click();
    await ada.page.fill("textarea[aria-label=Message]", "psst, bob");
    await ada.page.press("textarea[aria-label=Message]", "Enter");
    await bob.page.waitForSelector(".direct-list li:has-text('from ada2'):has-text('psst, bob')");

    await ada.page.locator(".composer .chip").waitFor({ state: "hidden" });
    expect(await ada.page.getAttribute("textarea[aria-label=Message]", "placeholder")).toBe("Write a message…");
    await say(ada, "this one is for the room");
    await waitForMessages(bob, ["this one is for the room"]);
    expect(await bob.page.locator(".direct-list li").count()).toBe(1);
    await ada.context.close();
    await bob.context.close();
  });
});
