import { describe, expect, it } from "vitest";
import { isValidTenant, prefixForTenant } from "../../src/policy/tenant.js";

describe("tenant values", () => {
  it.each(["acme", "tenant-1", "ACME_eu", "3f0e9f6a-2c1b-4f6e-9a51-7d1f0c2b9e11"])("accepts %s", (tenant) => {
    expect(isValidTenant(tenant)).toBe(true);
  });

  it.each(["", "a/../b", "a/b", "*", "a*", "a?", "${aws:username}", " acme", "ac me", "ümlaut", "a.b", "-acme", "x".repeat(65)])(
    "refuses %j, which could widen a prefix or a policy match",
    (tenant) => {
      expect(isValidTenant(tenant)).toBe(false);
    },
  );

  it("fills the prefix template", () => {
    expect(prefixForTenant("tenants/{tenant}/", "acme")).toBe("tenants/acme/");
    expect(() => prefixForTenant("tenants/{tenant}/", "a/../b")).toThrow();
  });
});
