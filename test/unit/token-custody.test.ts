import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotProvisionedError, UpstreamRejectedError, UpstreamUnavailableError } from "../../src/errors.js";
import { UpstreamError } from "../../src/cognito/aws-errors.js";
import { domainKit, poolAUser, type DomainKit } from "../support/domain.js";

/**
 * Custody of each user's Pool B tokens (src/broker/credentials/token-custody.ts) as issuance uses
 * it: the stored ID token while it is good, a refresh when it is not, a fresh sign-in when the
 * refresh token no longer works, and the connection's state when Pool B says the user is disabled
 * or gone. Pool B in memory; the emulator suites prove the same calls against moto.
 */
let kit: DomainKit;
beforeEach(() => {
  kit = domainKit();
});
afterEach(async () => {
  await kit.close();
});

const CLASSIC_900 = { flow: "CLASSIC" as const, durationSeconds: 900 };
const HOUR = 3_600_000;

async function provisioned() {
  const user = poolAUser(kit, "acme");
  await kit.lifecycle.provision(user, null, kit.meta);
  const connection = (await kit.store.getConnection(user.userId))!;
  return { user, poolBUsername: connection.poolBUsername };
}

describe("Pool B tokens", () => {
  it("issuance uses the stored ID token while it has more than the safety margin left: no Pool B call", async () => {
    const { user } = await provisioned();
    const calls = kit.pool.calls.length;
    await kit.issuance.issue(user, CLASSIC_900, kit.meta);
    expect(kit.pool.calls.length).toBe(calls);
  });

  it("refreshes an ID token that is about to expire, without a new sign-in", async () => {
    const { user } = await provisioned();
    kit.clock.now += HOUR - kit.config.tokenSafetyMarginSeconds * 1000 + 1_000;
    await kit.issuance.issue(user, CLASSIC_900, kit.meta);
    expect(kit.pool.count("AdminInitiateAuth:REFRESH_TOKEN_AUTH")).toBe(1);
    expect(kit.pool.count("AdminSetUserPassword")).toBe(1);
  });

  it("signs in afresh when a global sign-out (by anyone) has ended the refresh token", async () => {
    const { user, poolBUsername } = await provisioned();
    await kit.pool.globalSignOut(poolBUsername);
    kit.clock.now += HOUR;
    await kit.issuance.issue(user, CLASSIC_900, kit.meta);
    expect(kit.pool.count("AdminInitiateAuth:REFRESH_TOKEN_AUTH")).toBe(1);
    expect(kit.pool.count("AdminSetUserPassword")).toBe(2);
  });

  it("a Pool B user disabled behind the broker's back makes the connection DISABLED: refused, and nothing cached is handed out", async () => {
    const { user, poolBUsername } = await provisioned();
    await kit.issuance.issue(user, CLASSIC_900, kit.meta);
    await kit.pool.disableUser(poolBUsername);
    kit.clock.now += HOUR;
    await expect(kit.issuance.issue(user, CLASSIC_900, kit.meta)).rejects.toThrow(UpstreamRejectedError);
    expect((await kit.store.getConnection(user.userId))!.state).toBe("DISABLED");
    expect(kit.exchange.issued).toHaveLength(1);
  });

  it("a Pool B user deleted behind the broker's back asks for provisioning again, which recreates it", async () => {
    const { user, poolBUsername } = await provisioned();
    kit.pool.users.delete(poolBUsername);
    kit.clock.now += HOUR;
    await expect(kit.issuance.issue(user, CLASSIC_900, kit.meta)).rejects.toThrow(NotProvisionedError);
    expect((await kit.lifecycle.provision(user, null, kit.meta)).state).toBe("ACTIVE");
    expect(kit.pool.users.has(poolBUsername)).toBe(true);
    await kit.issuance.issue(user, CLASSIC_900, kit.meta);
  });

  it("never exchanges a token whose session tag is not the user's current one", async () => {
    const { user, poolBUsername } = await provisioned();
    // Someone with Pool B administration sets another tag: every token Pool B gives now carries it.
    kit.pool.users.get(poolBUsername)!.attributes.set("custom:sid", "0zzzzz");
    kit.clock.now += HOUR;
    await expect(kit.issuance.issue(user, CLASSIC_900, kit.meta)).rejects.toThrow(/current session tag/);
    expect(kit.exchange.issued).toEqual([]);
  });

  it("a Pool B outage is UPSTREAM_UNAVAILABLE (retryable) and leaves the connection as it was", async () => {
    const { user } = await provisioned();
    kit.clock.now += HOUR;
    kit.pool.failNext = { count: 5, error: () => new UpstreamError("AdminInitiateAuth", "UNAVAILABLE", "ServiceUnavailable", 503) };
    await expect(kit.issuance.issue(user, CLASSIC_900, kit.meta)).rejects.toThrow(UpstreamUnavailableError);
    expect((await kit.store.getConnection(user.userId))!.state).toBe("ACTIVE");
    kit.pool.failNext = undefined;
    await kit.issuance.issue(user, CLASSIC_900, kit.meta);
    expect(kit.exchange.issued).toHaveLength(1);
  });
});
