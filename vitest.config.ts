import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "redis-kit",
          root: "packages/redis-kit",
          include: ["src/**/*.test.ts"],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: "service-kit",
          root: "packages/service-kit",
          include: ["src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "grpc-demo",
          root: "grpc-demo",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: "websocket-chat",
          root: "websocket-chat",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        // Hostile input: seeded fuzzing of the socket surface (FUZZ_SEED / FUZZ_COUNT to replay or widen).
        test: {
          name: "hostile",
          root: ".",
          include: ["test/hostile/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 30_000,
        },
      },
      {
        // Topology checks that need no Docker: Envoy and compose configs, nginx, the k8s/ manifests.
        test: {
          name: "topology",
          root: ".",
          include: ["scripts/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        // Real containers through compose (needs a Docker engine: `npm start` sets one up).
        test: {
          name: "containers",
          root: "test/containers",
          include: ["**/*.test.ts"],
          globalSetup: ["./global-setup.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
    reporters: ["default", "@clusterkit/test-kit/summary-reporter"],
    passWithNoTests: false,
  },
});
