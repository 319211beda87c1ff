import { describe, expect, it } from "vitest";
import { credentialRequest, roleFor } from "../../src/broker/credentials/credential-request.js";
import { BadUserInputError } from "../../src/errors.js";

const withWriter = { roleMaxSeconds: 43_200, shards: [{ writerRoleArn: "arn:aws:iam::123456789012:role/w0" }, { writerRoleArn: "arn:aws:iam::123456789012:role/w1" }] };
const readOnly = { roleMaxSeconds: 3600, shards: [{ writerRoleArn: undefined }] };
const fieldOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BadUserInputError);
    return (error as BadUserInputError).extensions.field;
  }
  throw new Error("no refusal");
};

describe("the flow, duration and scope rule (one place, for issuance and client keys)", () => {
  it("decides the defaults: the whole prefix, READ, the flow's duration", () => {
    expect(credentialRequest({ flow: "ENHANCED" }, withWriter)).toEqual({ flow: "ENHANCED", durationSeconds: 3600, target: "", permission: "READ" });
    expect(credentialRequest({ flow: "CLASSIC", durationSeconds: 900, scope: { target: "readings/", permission: "WRITE" } }, withWriter)).toEqual({
      flow: "CLASSIC",
      durationSeconds: 900,
      target: "readings/",
      permission: "WRITE",
    });
  });

  it("refuses each wrong case once, naming the field where the caller wrote it", () => {
    expect(fieldOf(() => credentialRequest({ flow: "ENHANCED", scope: { target: "readings/", permission: "READ" } }, withWriter))).toBe("scope");
    expect(fieldOf(() => credentialRequest({ flow: "ENHANCED", scope: { target: "readings/", permission: "READ" } }, withWriter, "input."))).toBe("input.scope");
    expect(fieldOf(() => credentialRequest({ flow: "CLASSIC", scope: { target: "../globex/", permission: "READ" } }, withWriter, "input."))).toBe("input.scope.target");
    expect(fieldOf(() => credentialRequest({ flow: "CLASSIC", scope: { target: "x/", permission: "WRITE" } }, readOnly))).toBe("scope.permission");
    expect(fieldOf(() => credentialRequest({ flow: "CLASSIC", durationSeconds: 7200 }, readOnly))).toBe("durationSeconds");
    expect(fieldOf(() => credentialRequest({ flow: "ENHANCED", durationSeconds: 900 }, withWriter, "input."))).toBe("durationSeconds");
  });

  it("picks the writer role for writes and the reader role for reads; a key's write after the writer role was removed is refused", () => {
    const shard = { readerRoleArn: "reader", writerRoleArn: "writer" };
    expect(roleFor(shard, { permission: "READ" })).toBe("reader");
    expect(roleFor(shard, { permission: "WRITE" })).toBe("writer");
    expect(fieldOf(() => roleFor({ readerRoleArn: "reader", writerRoleArn: undefined }, { permission: "READWRITE" }))).toBe("scope.permission");
  });
});
