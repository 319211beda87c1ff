import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) copies. Node, and so type-graphql and Apollo,
    // load the CommonJS one; Vite would pick the ESM one for our files, and two copies of graphql
    // refuse each other's schema objects. Pin everything to the copy Node loads.
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    setupFiles: ["test/support/setup.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default", "./test/support/summary-reporter.ts"],
    env: {
      // moto accepts any credentials; the SDK needs some to sign requests with.
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    projects: [
      {
        extends: true,
        test: {
          name: "suite",
          include: ["test/**/*.test.ts"],
          exclude: ["test/drills/**", "test/e2e/container-image.test.ts"],
          // Most suites wait on moto, child processes and the clock rather than on a core: three
          // files at a time keep a 2-core machine busy (the default, one per spare core, would run
          // them one by one).
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "drills",
          include: ["test/drills/**/*.test.ts", "test/e2e/container-image.test.ts"],
          // The fault drills time recoveries and answers: they run after the suite, one file at a
          // time, so the bounds they assert measure the broker, not the rest of the suite's load.
          // The container image's build (minutes of disk and CPU) runs here too, so that it slows
          // no timed test.
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
