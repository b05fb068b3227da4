import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectUsers, unary, type CreateUserResponse, type UserServiceClient } from "grpc-demo/client";
import { seedUsersDirectly } from "@clusterkit/test-kit/users";
import { closeRedis, connectRedis } from "@clusterkit/redis-kit";
import { launchChromium, openPage, type Participant } from "./support/browser.js";
import { startStack, type E2EStack } from "@clusterkit/test-kit/stack";

/**
 * Finding 11.8: a big directory in the live users page. The users are written straight into
 * Redis before the services start (E2E_USERS to change how many), then the page shows them
 * through nginx, in real Chromium.
 */
const USERS = Number(process.env.E2E_USERS ?? 100_000);
const TOTAL = USERS + 2; // and the store's own Alice and Bob

let stack: E2EStack;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;
let grpc: UserServiceClient;
let viewer: Participant;

beforeAll(async () => {
  [stack, chromium] = await Promise.all([
    startStack({
      replicas: 1,
      async beforeServices(redis) {
        const client = await connectRedis(redis.url, pino({ level: "silent" }), "e2e-seeder");
        await seedUsersDirectly(client, { count: USERS });
        await closeRedis(client);
      },
    }),
    launchChromium(),
  ]);
  browser = chromium.browser;
  grpc = await connectUsers(stack.users.target);
}, 300_000);
afterAll(async () => {
  grpc?.close();
  await chromium?.close();
  await stack?.close();
});

const rows = () => viewer.page.locator("tbody tr");
const firstId = async () => Number(await rows().first().getAttribute("data-id"));

describe(`finding 11.8: ${TOTAL.toLocaleString("en")} users in the live users page`, () => {
  it("loads them into a window of 50 rows without hanging the tab", async () => {
    // The replica loads the directory itself first (its own snapshot, over gRPC).
    const ready = async () => ((await (await fetch(`${stack.chats[0]!.url}/readyz`)).json()) as { usersFeed?: string }).usersFeed === "ready";
    while (!(await ready())) await new Promise((resolve) => setTimeout(resolve, 200));
    viewer = await openPage(browser, stack.url);
    const started = Date.now();
    await viewer.page.click("button[role=tab]:has-text('Live users')");
    await viewer.page.waitForFunction(() => /^live · via chat-\d+$/.test(document.querySelector(".users-layout .pill")?.textContent ?? ""), undefined, {
      timeout: 120_000,
    });
    const loadedMs = Date.now() - started;
    console.log(`${TOTAL} users loaded in ${loadedMs} ms`);
    expect(await rows().count()).toBe(50);
    expect(await viewer.page.locator(".users-layout .section-header .muted").first().textContent()).toBe(`${TOTAL.toLocaleString("en")} users`);
    // The tab answers at once: the page is not busy rendering rows.
    const before = Date.now();
    await viewer.page.evaluate(() => 1);
    expect(Date.now() - before).toBeLessThan(1_000);
  }, 180_000);

  it("pages through the directory and finds one user by search", async () => {
    expect(await firstId()).toBe(1);
    await viewer.page.click("button[aria-label='Next users']");
    await viewer.page.waitForSelector("tbody tr[data-id='51']");
    const target = Math.ceil(USERS * 0.77);
    await viewer.page.fill("input[aria-label='Search users']", `seeded-${target}@`);
    await viewer.page.waitForSelector(`tbody tr[data-id='${target}']`);
    expect(await rows().count()).toBe(1);
    await viewer.page.fill("input[aria-label='Search users']", "");
    await viewer.page.waitForSelector("tbody tr[data-id='1']");
    // `E2E_SCREENSHOTS=docs/screenshots` keeps a picture of the windowed table, as the other e2e does.
    if (process.env.E2E_SCREENSHOTS) {
      const dir = resolve(process.env.INIT_CWD ?? process.cwd(), process.env.E2E_SCREENSHOTS);
      await mkdir(dir, { recursive: true });
      await viewer.page.screenshot({ path: join(dir, "live-users-directory.png") });
    }
  });

  it("shows a user created meanwhile, found by search, live", async () => {
    const created = (await unary<CreateUserResponse>((cb) => grpc.createUser({ name: "Needle In Haystack", email: "needle@example.org" }, cb))).response.user!;
    await viewer.page.fill("input[aria-label='Search users']", "needle");
    await viewer.page.locator(`tbody tr[data-id='${created.id}']`).filter({ hasText: "Needle In Haystack" }).waitFor();
    expect(created.id).toBe(TOTAL + 1);
  });
});
