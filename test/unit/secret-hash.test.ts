import { describe, expect, it } from "vitest";
import { secretHash } from "../../src/cognito/secret-hash.js";

describe("SECRET_HASH", () => {
  it("is Base64(HMAC-SHA256(secret, username + clientId))", () => {
    // Expected value computed independently with Python's hmac module.
    expect(secretHash("dp-user", "3n4b5urk1ft4fl3mg5e62d9ado", "client-secret-123")).toBe("TKOUrwZDyptnSmYicP5CjDQ3Zpezsstcvm+DYBML0eM=");
  });

  it("depends on the username", () => {
    expect(secretHash("dp-other", "3n4b5urk1ft4fl3mg5e62d9ado", "client-secret-123")).not.toBe(
      secretHash("dp-user", "3n4b5urk1ft4fl3mg5e62d9ado", "client-secret-123"),
    );
  });
});
