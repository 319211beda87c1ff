import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { StackInfo } from "../../src/dev/bootstrap.js";
import { CreateAccessGrantDocument, ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
import { execute } from "./graphql-client.js";
import { freshPoolAUser, type TestPoolAUser } from "./pool-a-users.js";

export type GrantInput = { location: string; permission: "READ" | "WRITE" | "READWRITE" };

/** A tenant of the test's own (so no test sees another's grants), with the given grants and one provisioned user. */
export async function freshTenant(
  url: string,
  stack: StackInfo,
  options: { adminToken?: string; grants?: GrantInput[] } = {},
): Promise<{ tenant: string; user: TestPoolAUser; token: string }> {
  const tenant = `t${randomBytes(4).toString("hex")}`;
  for (const input of options.grants ?? []) {
    expect((await execute(url, CreateAccessGrantDocument, { input: { tenant, ...input } }, options.adminToken)).errors).toBeUndefined();
  }
  const user = await freshPoolAUser(stack, { tenant });
  const { idToken } = await user.signIn();
  expect((await execute(url, ProvisionDataPlatformUserDocument, {}, idToken)).errors).toBeUndefined();
  return { tenant, user, token: idToken };
}
