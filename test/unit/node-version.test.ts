import { afterEach, describe, expect, it } from "vitest";
import { noteOlderNode } from "../../src/config/node-version.js";

const SDK_SWITCH = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";
const before = process.env[SDK_SWITCH];
afterEach(() => {
  if (before === undefined) delete process.env[SDK_SWITCH];
  else process.env[SDK_SWITCH] = before;
});

describe("the Node version notice", () => {
  it("says one line on Node 20, naming the targets, and turns the SDK's own warning off", () => {
    delete process.env[SDK_SWITCH];
    const said: string[] = [];
    noteOlderNode((line) => said.push(line), "v20.20.2");
    expect(said).toHaveLength(1);
    expect(said[0]).not.toContain("\n");
    expect(said[0]).toMatch(/Node v20\.20\.2 .* targets Node 22 and 24/);
    expect(process.env[SDK_SWITCH]).toBe("true");
  });

  it("says nothing on the targets, and leaves the SDK alone", () => {
    delete process.env[SDK_SWITCH];
    for (const version of ["v22.12.0", "v24.1.0"]) expect(noteOlderNode(() => expect.fail("said something"), version)).toBeUndefined();
    expect(process.env[SDK_SWITCH]).toBeUndefined();
  });
});
