import { status } from "@grpc/grpc-js";
import { pino } from "pino";
import { ClientOfflineError, SocketClosedUnexpectedlyError } from "redis";
import { describe, expect, it } from "vitest";
import { toStatus } from "./grpc-errors.js";

const logger = pino({ level: "silent" });

describe("the status a Redis failure maps to", () => {
  it("is UNAVAILABLE (retry shortly) when Redis reset the connection under a command in flight", () => {
    // What node-redis rejects in-flight commands with when redis-server is SIGKILLed.
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    expect(toStatus(reset, logger).code).toBe(status.UNAVAILABLE);
    expect(toStatus(new ClientOfflineError(), logger).code).toBe(status.UNAVAILABLE);
    expect(toStatus(new SocketClosedUnexpectedlyError(), logger).code).toBe(status.UNAVAILABLE);
  });

  it("is INTERNAL, without internals, when Redis rejected a command", () => {
    const mapped = toStatus(new Error("ERR wrong number of arguments for 'hset' command"), logger);
    expect(mapped).toMatchObject({ code: status.INTERNAL, details: "internal error" });
  });
});
