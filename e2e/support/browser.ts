import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/**
 * Debian's chromium (`apt-get install chromium`), driven by playwright-core: never a downloaded
 * browser. The flags keep it off the network (this machine's and CI's is closed) and quiet.
 */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), "clusterkit-chromium-"));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // playwright gives each launch a fresh profile of its own; this keeps crash dumps etc. there too.
      `--crash-dumps-dir=${profile}`,
    ],
  });
  return { browser, close: () => browser.close() };
}

/** One participant: a browser context of its own (own localStorage, own session key). */
export interface Participant {
  context: BrowserContext;
  page: Page;
  /** Every JavaScript dialog the page tried to open (an XSS would show up here). */
  dialogs: string[];
  /** The replica the page's socket is on, from the status in the top bar (known once identified). */
  replica(): Promise<string>;
}

/**
 * A page in a fresh browser context. `sessionKey` plays the same browser again (the page's key in
 * localStorage): a nickname stays reserved to the key that claimed it, even after its page closed.
 */
export async function openPage(browser: Browser, url: string, options: { sessionKey?: string } = {}): Promise<Participant> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(10_000);
  if (options.sessionKey) {
    await context.addInitScript((key) => localStorage.setItem("clusterkit.sessionKey", key), options.sessionKey);
  }
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(url);
  return {
    context,
    page,
    dialogs,
    async replica() {
      const status = page.locator(".topbar .status");
      await page.waitForFunction(() => /· chat-\d+$/.test(document.querySelector(".topbar .status")?.textContent ?? ""));
      return (await status.textContent())!.split("· ").pop()!;
    },
  };
}

/** Fills the login card and waits for the room to open. */
export async function enterChat(p: Participant, nickname: string, room: string): Promise<void> {
  await p.page.fill("input[name=nickname]", nickname);
  await p.page.fill("input[name=room]", room);
  await p.page.click("form.login button[type=submit]");
  await p.page.waitForSelector(".chat-layout:not([hidden])");
  await p.page.waitForFunction((name) => document.querySelector(".conversation-title")?.textContent === `# ${name}`, room);
}

/** Types into the composer and sends with Enter; resolves once the page shows its own message. */
export async function say(p: Participant, text: string): Promise<void> {
  const before = await p.page.locator(".messages li.message.mine").count();
  await p.page.fill("textarea[aria-label=Message]", text);
  await p.page.press("textarea[aria-label=Message]", "Enter");
  await p.page.waitForFunction((n) => document.querySelectorAll(".messages li.message.mine").length > n, before);
}

/** Texts of the room messages the page shows, in order. */
export const shownMessages = (p: Participant) => p.page.locator(".messages li.message .text").allTextContents();
export const shownMembers = (p: Participant) => p.page.locator(".member-list .member-name").allTextContents();

/** Waits until `texts` are the page's last messages (or all of them with `exact`). */
export async function waitForMessages(p: Participant, texts: string[], exact = false, timeout = 10_000): Promise<void> {
  await p.page.waitForFunction(
    ({ texts, exact }) => {
      const shown = [...document.querySelectorAll(".messages li.message .text")].map((el) => el.textContent);
      const tail = exact ? shown : shown.slice(-texts.length);
      return tail.length === texts.length && tail.every((t, i) => t === texts[i]);
    },
    { texts, exact },
    { timeout },
  );
}

export async function waitForMembers(p: Participant, members: string[], timeout = 10_000): Promise<void> {
  await p.page.waitForFunction(
    (members) => {
      const shown = [...document.querySelectorAll(".member-list .member-name")].map((el) => el.textContent);
      return shown.length === members.length && members.every((m) => shown.includes(m));
    },
    members,
    { timeout },
  );
}
