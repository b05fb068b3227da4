import { describe, expect, it } from "vitest";
import { resolveTarget } from "./target.js";

describe("resolveTarget", () => {
  it("passes one address or an explicit scheme through", async () => {
    expect(await resolveTarget("127.0.0.1:50051")).toBe("127.0.0.1:50051");
    expect(await resolveTarget("dns:///users:50051")).toBe("dns:///users:50051");
  });

  it("turns a comma list into an address list for round_robin", async () => {
    expect(await resolveTarget("127.0.0.1:1, 127.0.0.2:2")).toBe("ipv4:127.0.0.1:1,127.0.0.2:2");
    expect(await resolveTarget("[::1]:1,[::1]:2")).toBe("ipv6:[::1]:1,[::1]:2");
    expect(await resolveTarget("localhost:7,127.0.0.1:8")).toMatch(/^ipv[46]:.*:7,.*127\.0\.0\.1:8$/);
  });

  it("refuses entries without a port", async () => {
    await expect(resolveTarget("localhost:1,127.0.0.1")).rejects.toThrow(/host:port/);
  });
});
