/**
 * Checks an Envoy config (already parsed from YAML/JSON) the way Envoy's own loader would reject
 * it: proto3 JSON mapping against the v3 API, every `typed_config` resolved through its `@type`,
 * plus the PGV rules Envoy enforces at load (required messages, non-empty strings, oneofs) and
 * Envoy's refusal of deprecated fields. Each problem names the path to the bad value.
 */
import protobuf from "protobufjs";
import { loadEnvoyApi } from "./envoy-api.js";

/** One reason Envoy would refuse the config. */
export interface EnvoyProblem {
  /** Where, e.g. `static_resources.clusters[0].connect_timeout`. */
  path: string;
  message: string;
}

const BOOTSTRAP = "envoy.config.bootstrap.v3.Bootstrap";
const HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "envoy.extensions.filters.http.router.v3.Router";

// proto3 JSON: seconds with up to 9 fractional digits, then "s" (Envoy: "0.25s", "15s", "0s").
const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const INTEGER_STRING = /^-?\d+$/;

type Json = unknown;
type Options = Record<string, unknown> | undefined;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: Json): string {
  return JSON.stringify(v) ?? String(v);
}

function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function isDeprecated(options: Options, name: string): boolean {
  return options?.["deprecated"] === true || name.startsWith("hidden_envoy_deprecated_");
}

class Checker {
  readonly problems: EnvoyProblem[] = [];

  constructor(private readonly root: protobuf.Root) {}

  private report(path: string, message: string): void {
    this.problems.push({ path: path || "(top level)", message });
  }

  message(type: protobuf.Type, value: Json, path: string): void {
    const name = type.fullName.replace(/^\./, "");
    if (name.startsWith("google.protobuf.")) {
      this.wellKnown(name, value, path);
      return;
    }
    if (!isObject(value)) {
      this.report(path, `expected an object for ${name}, got ${describe(value)}`);
      return;
    }
    if (isDeprecated(type.options, "")) this.report(path, `${name} is deprecated`);

    const present = new Set<string>();
    for (const [key, v] of Object.entries(value)) {
      const field = type.fields[key] ?? type.fieldsArray.find((f) => lowerCamel(f.name) === key);
      const at = path ? `${path}.${key}` : key;
      if (!field) {
        this.report(at, `unknown field "${key}" in ${name}`);
        continue;
      }
      if (v === null) continue;
      present.add(field.name);
      if (isDeprecated(field.options, field.name)) {
        this.report(at, `field "${field.name}" of ${name} is deprecated`);
      }
      this.field(field, v, at);
    }

    for (const oneof of type.oneofsArray) {
      const set = oneof.oneof.filter((f) => present.has(f));
      if (set.length > 1) this.report(path, `only one of ${set.join(", ")} may be set (oneof ${oneof.name})`);
      const required = oneof.options?.["(validate.required)"] === true;
      if (set.length === 0 && (required || oneof.oneof.includes("typed_config"))) {
        const what = oneof.oneof.includes("typed_config") ? "typed_config" : `one of ${oneof.oneof.join(", ")}`;
        this.report(path, `missing ${what} in ${name}`);
      }
    }

    for (const field of type.fieldsArray) {
      // PGV rules on a oneof member apply only when that member is the one chosen.
      if (present.has(field.name) || field.partOf) continue;
      const o = field.options;
      const requiredMessage =
        o?.["(validate.rules).message.required"] === true ||
        o?.["(validate.rules).any.required"] === true ||
        o?.["(validate.rules).duration.required"] === true;
      const minLen = Number(o?.["(validate.rules).string.min_len"] ?? 0);
      const minItems = Number(o?.["(validate.rules).repeated.min_items"] ?? 0);
      if (requiredMessage || minLen > 0 || minItems > 0) {
        this.report(path ? `${path}.${field.name}` : field.name, `missing required field "${field.name}" of ${name}`);
      }
    }
  }

  private field(field: protobuf.Field, value: Json, path: string): void {
    if (field instanceof protobuf.MapField) {
      if (!isObject(value)) {
        this.report(path, `expected a map for "${field.name}", got ${describe(value)}`);
        return;
      }
      for (const [k, v] of Object.entries(value)) this.value(field, v, `${path}["${k}"]`);
      return;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) {
        this.report(path, `expected a list for "${field.name}", got ${describe(value)}`);
        return;
      }
      const minItems = Number(field.options?.["(validate.rules).repeated.min_items"] ?? 0);
      if (value.length < minItems) this.report(path, `"${field.name}" needs at least ${minItems} item(s)`);
      value.forEach((item, i) => this.value(field, item, `${path}[${i}]`));
      return;
    }
    this.value(field, value, path);
    const minLen = Number(field.options?.["(validate.rules).string.min_len"] ?? 0);
    if (typeof value === "string" && value.length < minLen) {
      this.report(path, `"${field.name}" must be at least ${minLen} character(s)`);
    }
    this.bounds(field, value, path);
  }

  /** PGV range rules on numbers and durations (`uint32.lte`, `duration.gt`, ...). */
  private bounds(field: protobuf.Field, value: Json, path: string): void {
    const options = field.options ?? {};
    const limits = new Map<string, number>();
    let isDuration = false;
    for (const [key, raw] of Object.entries(options)) {
      const match = /^\(validate\.rules\)\.(\w+)\.(gt|gte|lt|lte)(?:\.(seconds|nanos))?$/.exec(key);
      if (!match) continue;
      const [, kind, op, unit] = match as unknown as [string, string, string, string | undefined];
      if (kind === "duration") {
        isDuration = true;
        limits.set(op, (limits.get(op) ?? 0) + (unit === "nanos" ? Number(raw) / 1e9 : Number(raw)));
      } else if (kind !== "timestamp") {
        limits.set(op, Number(raw));
      }
    }
    if (limits.size === 0) return;
    let actual: number;
    if (isDuration) {
      if (typeof value !== "string" || !DURATION.test(value)) return; // reported as a bad duration already
      actual = Number(value.slice(0, -1));
    } else {
      actual = Number(value);
      if (Number.isNaN(actual) || (typeof value !== "number" && typeof value !== "string")) return;
    }
    const unit = isDuration ? "s" : "";
    const broken = [
      ["gt", (l: number) => actual > l, "greater than"],
      ["gte", (l: number) => actual >= l, "at least"],
      ["lt", (l: number) => actual < l, "less than"],
      ["lte", (l: number) => actual <= l, "at most"],
    ] as const;
    for (const [op, holds, words] of broken) {
      const limit = limits.get(op);
      if (limit !== undefined && !holds(limit)) this.report(path, `"${field.name}" must be ${words} ${limit}${unit}, got ${describe(value)}`);
    }
  }

  private value(field: protobuf.Field, value: Json, path: string): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) this.enumValue(resolved, value, path);
    else if (resolved instanceof protobuf.Type) this.message(resolved, value, path);
    else this.scalar(field.type, value, path);
  }

  private enumValue(type: protobuf.Enum, value: Json, path: string): void {
    const names = Object.keys(type.values);
    let name: string | undefined;
    if (typeof value === "string" && value in type.values) name = value;
    else if (typeof value === "number") name = names.find((n) => type.values[n] === value);
    if (name === undefined) {
      this.report(path, `bad enum value ${describe(value)} for ${type.name}: expected one of ${names.join(", ")}`);
      return;
    }
    const valueOptions = (type as unknown as { valuesOptions?: Record<string, Options> }).valuesOptions;
    if (isDeprecated(valueOptions?.[name], name)) this.report(path, `enum value ${name} of ${type.name} is deprecated`);
  }

  private scalar(kind: string, value: Json, path: string): void {
    const bad = (expected: string): void => this.report(path, `expected ${expected}, got ${describe(value)}`);
    switch (kind) {
      case "string":
      case "bytes":
        if (typeof value !== "string") bad("a string");
        return;
      case "bool":
        if (typeof value !== "boolean") bad("true or false");
        return;
      case "double":
      case "float":
        if (typeof value !== "number" && !(typeof value === "string" && !Number.isNaN(Number(value)))) bad("a number");
        return;
      default: {
        const unsigned = kind.startsWith("uint") || kind === "fixed32" || kind === "fixed64";
        const ok =
          (typeof value === "number" && Number.isInteger(value)) ||
          (typeof value === "string" && INTEGER_STRING.test(value));
        if (!ok || (unsigned && Number(value) < 0)) bad(unsigned ? "a non-negative integer" : "an integer");
      }
    }
  }

  private wellKnown(name: string, value: Json, path: string): void {
    const bad = (expected: string): void => this.report(path, `expected ${expected} for ${name}, got ${describe(value)}`);
    switch (name) {
      case "google.protobuf.Duration":
        if (typeof value !== "string" || !DURATION.test(value)) bad('a duration string like "1.5s"');
        return;
      case "google.protobuf.Timestamp":
        if (typeof value !== "string" || !TIMESTAMP.test(value)) bad("an RFC 3339 timestamp");
        return;
      case "google.protobuf.Any":
        this.any(value, path);
        return;
      case "google.protobuf.Struct":
        if (!isObject(value)) bad("an object");
        return;
      case "google.protobuf.ListValue":
        if (!Array.isArray(value)) bad("a list");
        return;
      case "google.protobuf.Value":
        return;
      case "google.protobuf.Empty":
        if (!isObject(value) || Object.keys(value).length > 0) bad("{}");
        return;
      case "google.protobuf.FieldMask":
      case "google.protobuf.StringValue":
      case "google.protobuf.BytesValue":
        this.scalar("string", value, path);
        return;
      case "google.protobuf.BoolValue":
        this.scalar("bool", value, path);
        return;
      case "google.protobuf.DoubleValue":
      case "google.protobuf.FloatValue":
        this.scalar("double", value, path);
        return;
      case "google.protobuf.UInt32Value":
      case "google.protobuf.UInt64Value":
        this.scalar("uint64", value, path);
        return;
      case "google.protobuf.Int32Value":
      case "google.protobuf.Int64Value":
        this.scalar("int64", value, path);
        return;
      default:
        this.message(this.root.lookupType(name), value, path);
    }
  }

  private any(value: Json, path: string): void {
    if (!isObject(value)) {
      this.report(path, `expected an object with "@type", got ${describe(value)}`);
      return;
    }
    const url = value["@type"];
    if (typeof url !== "string") {
      this.report(path, 'missing "@type"');
      return;
    }
    const typeName = url.slice(url.lastIndexOf("/") + 1);
    let type: protobuf.Type;
    try {
      type = this.root.lookupType(typeName);
    } catch {
      this.report(`${path}.@type`, `unknown type "${typeName}" (not in Envoy's v3 API)`);
      return;
    }
    const { "@type": _ignored, ...rest } = value;
    if (typeName.startsWith("google.protobuf.") && typeName !== "google.protobuf.Empty") {
      // Well-known types with a special JSON form sit under "value" inside an Any.
      this.wellKnown(typeName, rest["value"], `${path}.value`);
      return;
    }
    this.message(type, rest, path);
  }
}

function* hcmConfigs(config: Record<string, Json>): Generator<[Record<string, Json>, string]> {
  const listeners = (config["static_resources"] as Record<string, Json> | undefined)?.["listeners"];
  if (!Array.isArray(listeners)) return;
  for (const [li, listener] of listeners.entries()) {
    const chains = isObject(listener) && Array.isArray(listener["filter_chains"]) ? listener["filter_chains"] : [];
    for (const [ci, chain] of chains.entries()) {
      const filters = isObject(chain) && Array.isArray(chain["filters"]) ? chain["filters"] : [];
      for (const [fi, filter] of filters.entries()) {
        const typed = isObject(filter) ? filter["typed_config"] : undefined;
        if (isObject(typed) && String(typed["@type"]).endsWith(`/${HCM}`)) {
          yield [typed, `static_resources.listeners[${li}].filter_chains[${ci}].filters[${fi}].typed_config`];
        }
      }
    }
  }
}

/** Cross-reference checks Envoy does after parsing: router last, routes name existing clusters. */
function checkReferences(config: Record<string, Json>, problems: EnvoyProblem[]): void {
  const clusters = (config["static_resources"] as Record<string, Json> | undefined)?.["clusters"];
  const names = new Set(Array.isArray(clusters) ? clusters.map((c) => (isObject(c) ? c["name"] : undefined)) : []);
  for (const [hcm, at] of hcmConfigs(config)) {
    const filters: Json[] = Array.isArray(hcm["http_filters"]) ? (hcm["http_filters"] as Json[]) : [];
    const last = filters.at(-1);
    const lastType = isObject(last) && isObject(last["typed_config"]) ? String(last["typed_config"]["@type"]) : "";
    if (!lastType.endsWith(`/${ROUTER}`)) {
      problems.push({ path: `${at}.http_filters`, message: "the last HTTP filter must be the router" });
    }
    const hosts = isObject(hcm["route_config"]) ? hcm["route_config"]["virtual_hosts"] : undefined;
    for (const [hi, host] of (Array.isArray(hosts) ? hosts : []).entries()) {
      const routes = isObject(host) && Array.isArray(host["routes"]) ? host["routes"] : [];
      for (const [ri, route] of routes.entries()) {
        const target = isObject(route) && isObject(route["route"]) ? route["route"]["cluster"] : undefined;
        if (target !== undefined && !names.has(target)) {
          problems.push({
            path: `${at}.route_config.virtual_hosts[${hi}].routes[${ri}].route.cluster`,
            message: `no cluster named ${describe(target)}`,
          });
        }
      }
    }
  }
}

/**
 * Validates a parsed Envoy bootstrap config.
 * @param config the YAML/JSON document as plain data
 * @param typeName the message to check against
 * @default typeName "envoy.config.bootstrap.v3.Bootstrap"
 * @returns every problem found; empty when Envoy would accept the file
 */
export function validateEnvoyConfig(config: unknown, typeName: string = BOOTSTRAP): EnvoyProblem[] {
  const root = loadEnvoyApi();
  const checker = new Checker(root);
  checker.message(root.lookupType(typeName), config, "");
  if (typeName === BOOTSTRAP && isObject(config)) checkReferences(config, checker.problems);
  return checker.problems;
}
