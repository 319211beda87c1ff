import { describe, expect, it } from "vitest";
import { covers, parseLocation } from "../../src/broker/grants/location.js";

describe("grant locations", () => {
  it.each(["", "readings/", "readings/2026/", "readings/2026-11-01.csv", "a.b/c_d-e/", "README.txt"])("accepts %j", (location) => {
    expect(parseLocation(location, "location")).toBe(location);
  });

  it.each(["/readings/", "../globex/", "readings/../../globex/", "./x", "a//b", "readings/*", "a?", "${aws:username}/", "x y", "é/", "a/".repeat(300), "."])(
    "refuses %j, which could leave or widen the tenant's prefix",
    (location) => {
      expect(() => parseLocation(location, "location")).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: "BAD_USER_INPUT", field: "location" }) }));
    },
  );

  it("covers what lies under a prefix grant, only the very object for an object grant, everything for the root", () => {
    expect(covers("", "anything/at/all.csv")).toBe(true);
    expect(covers("readings/", "readings/2026/x.csv")).toBe(true);
    expect(covers("readings/", "readings/")).toBe(true);
    expect(covers("readings/", "readings2/x.csv")).toBe(false);
    expect(covers("readings/", "")).toBe(false);
    expect(covers("readings/x.csv", "readings/x.csv")).toBe(true);
    expect(covers("readings/x.csv", "readings/x.csv.bak")).toBe(false);
    expect(covers("readings/x.csv", "readings/")).toBe(false);
  });
});
