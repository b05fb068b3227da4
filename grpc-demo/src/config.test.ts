import { describe, expect, it } from "vitest";
import { undocumented } from "@clusterkit/test-kit";
import { loadConfig, usersEnvVariables } from "./config.js";

describe("loadConfig", () => {
  it("has a default for every key", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 50051, redisUrl: "redis://127.0.0.1:6379", logLevel: "info", authToken: undefined });
    expect(config.serverId.length).toBeGreaterThan(0);
  });

  it("reads the documented variables", () => {
    const config = loadConfig({ PORT: "6000", SERVER_ID: "users-9", USERS_AUTH_TOKEN: "t", LOG_LEVEL: "debug" });
    expect(config).toMatchObject({ port: 6000, serverId: "users-9", authToken: "t", logLevel: "debug" });
  });

  it("caches 10,000 users per replica, unfenced, unless USERS_CACHE_SIZE and USERS_CACHE_FENCE say otherwise", () => {
    expect(loadConfig({})).toMatchObject({ cacheSize: 10_000, cacheFence: false });
    expect(loadConfig({ USERS_CACHE_SIZE: "0", USERS_CACHE_FENCE: "true" })).toMatchObject({ cacheSize: 0, cacheFence: true });
    expect(() => loadConfig({ USERS_CACHE_SIZE: "-1" })).toThrow(/USERS_CACHE_SIZE/);
    expect(() => loadConfig({ USERS_CACHE_FENCE: "maybe" })).toThrow(/USERS_CACHE_FENCE/);
  });

  it("fails with every bad variable named", () => {
    expect(() => loadConfig({ PORT: "http", LOG_LEVEL: "loud", REDIS_URL: "nope" })).toThrow(
      /PORT[\s\S]*REDIS_URL[\s\S]*LOG_LEVEL|PORT[\s\S]*LOG_LEVEL[\s\S]*REDIS_URL/,
    );
  });
});

describe("the documentation", () => {
  it.each(["../../docs/configuration.md"])("%s lists every environment variable", (readme) => {
    expect(undocumented(usersEnvVariables, new URL(readme, import.meta.url))).toEqual([]);
  });
});
