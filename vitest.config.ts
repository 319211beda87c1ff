import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) copies. Node, and so type-graphql and Apollo,
    // load the CommonJS one; Vite would pick the ESM one for our files, and two copies of graphql
    // refuse each other's schema objects. Pin everything to the copy Node loads.
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/setup.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most suites wait on moto, child processes and the clock rather than on a core: three files at a
    // time keep a 2-core machine busy (the default, one per spare core, would run them one by one).
    maxWorkers: 3,
    reporters: ["default", "./test/support/summary-reporter.ts"],
    env: {
      // moto accepts any credentials; the SDK needs some to sign requests with.
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
  },
});
