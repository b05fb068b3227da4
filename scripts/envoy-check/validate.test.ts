import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { validateEnvoyConfig } from "./validate.js";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const realFile = path.join(repoRoot, "envoy/envoy.yaml");

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutating free-form YAML in tests
type Doc = any;

function realConfig(): Doc {
  return parse(readFileSync(realFile, "utf8"));
}

function hcmOf(doc: Doc): Doc {
  return doc.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
}

function messages(doc: Doc): string[] {
  return validateEnvoyConfig(doc).map((p) => `${p.path}: ${p.message}`);
}

describe("envoy config check", () => {
  it("accepts the kit's envoy/envoy.yaml", () => {
    expect(messages(realConfig())).toEqual([]);
  });

  it("rejects an unknown field, naming its path", () => {
    const doc = realConfig();
    doc.static_resources.clusters[0].lb_polcy = "ROUND_ROBIN";
    expect(messages(doc)).toEqual([
      'static_resources.clusters[0].lb_polcy: unknown field "lb_polcy" in envoy.config.cluster.v3.Cluster',
    ]);
  });

  it("rejects an unknown field inside a typed_config, resolved through its @type", () => {
    const doc = realConfig();
    hcmOf(doc).stat_prefx = "oops";
    expect(messages(doc).join("\n")).toMatch(/typed_config\.stat_prefx: unknown field .*HttpConnectionManager/);
  });

  it("rejects a bad enum value", () => {
    const doc = realConfig();
    doc.static_resources.clusters[0].lb_policy = "ROUND_ROBINN";
    expect(messages(doc).join("\n")).toMatch(/clusters\[0\]\.lb_policy: bad enum value "ROUND_ROBINN" for LbPolicy/);
  });

  it("rejects a bad duration", () => {
    const doc = realConfig();
    doc.static_resources.clusters[0].connect_timeout = "250ms";
    expect(messages(doc).join("\n")).toMatch(/connect_timeout: expected a duration string/);
  });

  it("rejects an HTTP filter without typed_config", () => {
    const doc = realConfig();
    delete hcmOf(doc).http_filters.at(-1).typed_config;
    const found = messages(doc).join("\n");
    expect(found).toMatch(/http_filters\[2\]: missing typed_config in .*HttpFilter/);
    expect(found).toMatch(/the last HTTP filter must be the router/);
  });

  it("rejects a deprecated field (the handout's cluster-level http2_protocol_options)", () => {
    const doc = realConfig();
    doc.static_resources.clusters[0].http2_protocol_options = {};
    expect(messages(doc).join("\n")).toMatch(
      /clusters\[0\]\.http2_protocol_options: field "http2_protocol_options" of envoy.config.cluster.v3.Cluster is deprecated/,
    );
  });

  it("rejects a deprecated field deep inside a typed_config (virtual host cors)", () => {
    const doc = realConfig();
    hcmOf(doc).route_config.virtual_hosts[0].cors = {};
    expect(messages(doc).join("\n")).toMatch(/virtual_hosts\[0\]\.cors: .* is deprecated/);
  });

  it("rejects an @type that is not in Envoy's API", () => {
    const doc = realConfig();
    hcmOf(doc).http_filters[0].typed_config["@type"] = "type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope";
    expect(messages(doc).join("\n")).toMatch(/unknown type "envoy.extensions.filters.http.nope.v3.Nope"/);
  });

  it("rejects a route to a cluster that does not exist", () => {
    const doc = realConfig();
    hcmOf(doc).route_config.virtual_hosts[0].routes[0].route = { cluster: "userz", timeout: "0s" };
    expect(messages(doc).join("\n")).toMatch(/routes\[0\]\.route\.cluster: no cluster named "userz"/);
  });

  it("rejects a wrongly typed scalar and a missing required field", () => {
    const doc = realConfig();
    doc.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = "x";
    delete hcmOf(doc).stat_prefix;
    const found = messages(doc).join("\n");
    expect(found).toMatch(/port_value: expected a non-negative integer/);
    expect(found).toMatch(/stat_prefix: missing required field/);
  });

  it("rejects values outside the API's ranges (port, percentage, duration)", () => {
    const doc = realConfig();
    const cluster = doc.static_resources.clusters[0];
    cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 70000;
    cluster.outlier_detection.max_ejection_percent = 150;
    cluster.dns_refresh_rate = "0s";
    const found = messages(doc).join("\n");
    expect(found).toMatch(/port_value: "port_value" must be at most 65535, got 70000/);
    expect(found).toMatch(/max_ejection_percent: "max_ejection_percent" must be at most 100/);
    expect(found).toMatch(/dns_refresh_rate: "dns_refresh_rate" must be greater than 0.001s/);
  });

  describe("npm run check:envoy", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "envoy-check-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const run = (file: string) =>
      promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/check-envoy.ts", file], { cwd: repoRoot });

    it("exits 0 on the real file", async () => {
      const { stdout } = await run(realFile);
      expect(stdout).toContain("valid v3 config");
    });

    it("exits 1 and lists the problems on a broken file", async () => {
      const doc = realConfig();
      doc.static_resources.clusters[0].type = "STRICT_DNZ";
      const broken = path.join(dir, "broken.yaml");
      writeFileSync(broken, stringify(doc));
      await expect(run(broken)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/STRICT_DNZ/) });
    });
  });
});
