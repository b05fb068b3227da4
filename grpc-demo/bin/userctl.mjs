#!/usr/bin/env node
// `userctl`: the compiled CLI (dist/cli/main.js) run by plain node, built first when src/ changed.
// Running it through tsx instead cost about 1 s of TypeScript transpiling on every call.
import { ensureBuilt } from "../../scripts/ensure-built.mjs";

ensureBuilt(["grpc-demo"]);
await import("../dist/cli/main.js");
