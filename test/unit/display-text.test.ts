import { describe, expect, it } from "vitest";
import { displayText } from "../../src/broker/display-text.js";
import { BadUserInputError } from "../../src/errors.js";

describe("text shown to other people (key names, audit contexts)", () => {
  it("is stored as the reader will see it: NFC, trimmed; emoji sequences and other scripts are fine", () => {
    expect(displayText("  nightly export ", "name", 64)).toBe("nightly export");
    expect(displayText("cafe\u0301", "name", 64)).toBe("caf\u00e9");
    expect(displayText("夜間エクスポート 👩‍💻", "name", 64)).toBe("夜間エクスポート 👩‍💻");
  });

  it("refuses what would show differently from what was written: bidi overrides, controls, lone surrogates", () => {
    for (const spoof of ["invoice\u202Etxt.exe", "a\u2066b\u2069", "\u200Fname", "tab\there", "bell\u0007", "lone \uD800 high", "lone \uDC00 low", "", "   "]) {
      expect(() => displayText(spoof, "name", 64), JSON.stringify(spoof)).toThrow(BadUserInputError);
    }
    expect(() => displayText("x".repeat(65), "name", 64)).toThrow(/name must be 1 to 64 characters/);
  });
});
