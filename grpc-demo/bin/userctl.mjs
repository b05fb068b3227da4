#!/usr/bin/env node
// The CLI is TypeScript run through tsx, like the services; this shim lets npm link it as a bin.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
