import { test } from "vitest";
import { startBroker, type BrokerUnderTest } from "./broker-under-test.js";
import { domainKit, poolAUser, type DomainKit } from "./domain.js";
import { startLocalAws } from "./local-aws.js";
import type { Principal } from "../../src/auth/principal.js";

/**
 * Fixtures (vitest's test.extend) for the emulator and the broker: one moto with the AWS side
 * bootstrapped and one broker per file, torn down after the file (broker first). A test asks for
 * them by name: `it("…", async ({ aws, broker }) => …)`. `overrides` are the broker's environment
 * for this file; `options.now` its clock.
 */
export function emulatorTest(overrides: Record<string, string> = {}, options: { now?: () => number } = {}) {
  return test
    .extend("aws", { scope: "file" }, async ({}, { onCleanup }) => {
      const aws = await startLocalAws();
      onCleanup(() => aws.stop());
      return aws;
    })
    .extend("broker", { scope: "file" }, async ({ aws }, { onCleanup }): Promise<BrokerUnderTest> => {
      const broker = await startBroker(aws.stack, overrides, options);
      onCleanup(() => broker.close());
      return broker;
    });
}

const freshKit = (env: Record<string, string>) => async ({}, { onCleanup }: { onCleanup(cleanup: () => Promise<void>): void }): Promise<DomainKit> => {
  const kit = domainKit(env);
  onCleanup(() => kit.close());
  return kit;
};

/** A fresh domain kit (test/support/domain.ts) per test, closed after it, and an administrator of tenant acme in it. */
export const domainTest = test.extend("kit", freshKit({})).extend("admin", async ({ kit }): Promise<Principal> => poolAUser(kit, "acme", { admin: true }));

/** domainTest on a broker with these settings (e.g. a small deny list, partners). */
export const domainTestWith = (env: Record<string, string>) => domainTest.override("kit", freshKit(env));
