import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("has a default for every setting", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      redisUrl: "redis://127.0.0.1:6379",
      historySize: 50,
      authSecret: undefined,
      corsOrigins: [],
      presenceTtlMs: 10_000,
      nicknameReservationMs: 86_400_000,
      maxBufferedBytes: 1_048_576,
      joinRateLimit: 100,
      typingRateLimit: 30,
      replayRateLimit: 1_000_000,
      roomsPerUser: 200,
      roomIdleTtlMs: 86_400_000,
    });
    expect(config.serverId.length).toBeGreaterThan(0);
    expect(config.pingIntervalMs + config.pingTimeoutMs).toBeLessThan(60_000); // nginx's default read timeout
  });

  it("reads a Redis Cluster's seed nodes, and refuses an entry that is not host:port", () => {
    expect(loadConfig({}).redisCluster).toEqual([]);
    expect(loadConfig({ CHAT_REDIS_CLUSTER: "redis-node-1:6379, redis://redis-node-2:6379" }).redisCluster).toEqual([
      "redis://redis-node-1:6379",
      "redis://redis-node-2:6379",
    ]);
    expect(() => loadConfig({ CHAT_REDIS_CLUSTER: "redis-node-1" })).toThrow(/CHAT_REDIS_CLUSTER/);
  });

  it("parses lists and numbers", () => {
    expect(loadConfig({ CORS_ORIGIN: "https://a.example, https://b.example" }).corsOrigins).toEqual([
      "https://a.example",
      "https://b.example",
    ]);
    expect(loadConfig({ CORS_ORIGIN: "*" }).corsOrigins).toBe(true);
    expect(loadConfig({ CHAT_HISTORY_SIZE: "10", PORT: "0" })).toMatchObject({ historySize: 10, port: 0 });
    expect(loadConfig({ CHAT_MAX_BUFFERED_BYTES: "65536" }).maxBufferedBytes).toBe(65_536);
    expect(loadConfig({}).transports).toEqual(["polling", "websocket"]);
    expect(loadConfig({ CHAT_TRANSPORTS: " websocket " }).transports).toEqual(["websocket"]);
  });

  it("believes no X-Forwarded-For unless told which proxies to trust, and limits connections per address by default", () => {
    expect(loadConfig({})).toMatchObject({ trustProxy: 0, maxSocketsPerAddress: 100, maxConnectsPerAddress: 60, connectWindowMs: 10_000 });
    expect(loadConfig({ CHAT_TRUST_PROXY: "1" }).trustProxy).toBe(1);
    expect(loadConfig({ CHAT_TRUST_PROXY: "loopback, 10.0.0.0/8, 172.18.0.2, fd00::/8" }).trustProxy).toEqual([
      "loopback",
      "10.0.0.0/8",
      "172.18.0.2",
      "fd00::/8",
    ]);
    expect(() => loadConfig({ CHAT_TRUST_PROXY: "true" })).toThrow(/CHAT_TRUST_PROXY: .*not: true/);
    expect(() => loadConfig({ CHAT_TRUST_PROXY: "10.0.0.0/33" })).toThrow(/CHAT_TRUST_PROXY/);
    expect(() => loadConfig({ CHAT_TRUST_PROXY: "-1" })).toThrow(/CHAT_TRUST_PROXY/);
    expect(() => loadConfig({ CHAT_MAX_SOCKETS_PER_ADDRESS: "0" })).toThrow(/CHAT_MAX_SOCKETS_PER_ADDRESS/);
  });

  it("names every bad variable at once", () => {
    expect(() => loadConfig({ PORT: "http", CHAT_AUTH_SECRET: "short", REDIS_URL: "not a url" })).toThrow(
      /PORT[\s\S]*REDIS_URL[\s\S]*CHAT_AUTH_SECRET: must be at least 32 characters/,
    );
    expect(() => loadConfig({ CHAT_MAX_BUFFERED_BYTES: "1000" })).toThrow(/CHAT_MAX_BUFFERED_BYTES/);
    expect(() => loadConfig({ CHAT_ROOM_IDLE_TTL_MS: "10", CHAT_JOIN_RATE_LIMIT: "0" })).toThrow(/CHAT_JOIN_RATE_LIMIT[\s\S]*CHAT_ROOM_IDLE_TTL_MS/);
    expect(() => loadConfig({ CHAT_TRANSPORTS: "websocket,carrier-pigeon" })).toThrow(/CHAT_TRANSPORTS/);
    expect(() => loadConfig({ CHAT_TRANSPORTS: "," })).toThrow(/CHAT_TRANSPORTS: name at least one/);
  });
});
