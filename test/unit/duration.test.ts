import { describe, expect, it } from "vitest";
import { resolveDurationSeconds } from "../../src/broker/duration.js";
import { BadUserInputError } from "../../src/errors.js";

describe("credential duration rules", () => {
  it("fixes the enhanced flow at one hour and refuses a requested duration", () => {
    expect(resolveDurationSeconds("ENHANCED", undefined, 43200)).toBe(3600);
    expect(resolveDurationSeconds("ENHANCED", null, 43200)).toBe(3600);
    expect(() => resolveDurationSeconds("ENHANCED", 3600, 43200)).toThrow(BadUserInputError);
  });

  it("defaults the classic flow to one hour and accepts 900 up to the role maximum", () => {
    expect(resolveDurationSeconds("CLASSIC", undefined, 43200)).toBe(3600);
    expect(resolveDurationSeconds("CLASSIC", 900, 43200)).toBe(900);
    expect(resolveDurationSeconds("CLASSIC", 43200, 43200)).toBe(43200);
  });

  it.each([899, 0, -1, 43201, 1.5])("refuses %s seconds for the classic flow", (seconds) => {
    expect(() => resolveDurationSeconds("CLASSIC", seconds, 43200)).toThrow(/900 to 43200/);
  });

  it("caps the classic flow at a role maximum below 12 hours", () => {
    expect(resolveDurationSeconds("CLASSIC", 7200, 7200)).toBe(7200);
    expect(() => resolveDurationSeconds("CLASSIC", 7201, 7200)).toThrow(/900 to 7200/);
  });

  it("reports the field that was wrong", () => {
    try {
      resolveDurationSeconds("CLASSIC", 60, 43200);
      expect.unreachable();
    } catch (error) {
      expect((error as BadUserInputError).extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "durationSeconds" });
    }
  });
});
