import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "**/src/gen/**", "bench/results/**", "**/.tsbuild/**", "websocket-chat/web/vite.config.ts"] },
  js.configs.recommended,
  // Type-aware: a promise nobody awaits, an async callback where a plain one is expected, or a
  // switch that forgets a case are bugs the type checker can see (each file's project comes from
  // the root tsconfig.json's references).
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      // Handlers and test fakes implement async interfaces: an `async` function with nothing to
      // await is the plain way to return a promise there, not a bug.
      "@typescript-eslint/require-await": "off",
      "no-console": "off",
    },
  },
  {
    // These tests break parsed YAML documents on purpose, reaching into them as untyped data.
    files: ["scripts/compose-check/*.test.ts", "scripts/envoy-check/*.test.ts", "scripts/k8s-check/manifests.test.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
    },
  },
  {
    // Plain JavaScript (launchers, health checks, the handout's page) and the root config files
    // belong to no TypeScript project: linted without types.
    files: ["**/*.mjs", "**/*.cjs", "**/*.js", "vitest.config.ts"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
