import { describe, expect, it } from "vitest";
import { covers, parseLocation } from "../../src/broker/grants/location.js";

describe("grant locations", () => {
  it.each([
    "",
    "readings/",
    "readings/2026/",
    "readings/2026-11-01.csv",
    "a.b/c_d-e/",
    "README.txt",
    // File names as people write them, in any script.
    "議事録/2026年 第1回.txt",
    "報告書\u30002026.pdf",
    "résumé (final) #2.docx",
    "a+b=c, d&e@f/",
    "データ/".repeat(42),
  ])("accepts %j", (location) => {
    expect(parseLocation(location, "location")).toBe(location);
  });

  it.each([
    "/readings/",
    "../globex/",
    "readings/../../globex/",
    "./x",
    "a//b",
    "readings/*",
    "a?",
    "${aws:username}/",
    "a$b",
    "a{b}",
    "a\\b",
    "a/".repeat(300),
    ".",
    // Names that hide what they say: bidi overrides, zero-width and control characters, spaces at an end.
    "invoice\u202Efdp.exe",
    "a\u200Bb/",
    "a\u0000b",
    "tab\there",
    " lead/",
    "trail /",
    "\u3000x/",
    "\uD800x",
    // 171 Japanese characters: 513 bytes, over S3's share of the key.
    "デ".repeat(171),
    "x".repeat(129),
  ])(
    "refuses %j, which could leave or widen the tenant's prefix, hide what it names, or not fit",
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
