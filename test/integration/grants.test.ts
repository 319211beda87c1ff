import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AccessGrantsDocument,
  AuditEventsDocument,
  CreateClientKeyDocument,
  CreateAccessGrantDocument,
  DeleteAccessGrantDocument,
  IssueCredentialsWithKeysDocument,
  IssueScopedCredentialsDocument,
  MyAccessDocument,
} from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf, fetchCredentials } from "../support/credential-endpoint.js";
import { errorCodes, execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";
import { freshTenant as freshTenantIn } from "../support/tenants.js";
import { SESSION_TAG_ALPHABET } from "../../src/policy/policies.js";

let aws: LocalAws;
let broker: BrokerUnderTest;
let adminToken: string;

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack, { RATE_LIMIT_MUTATIONS_PER_MINUTE: "10000", RATE_LIMIT_FIELDS_PER_MINUTE: "10000" });
  adminToken = (await (await freshPoolAUser(aws.stack, { admin: true })).signIn()).idToken;
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

const freshTenant = () => freshTenantOn(broker);
const freshTenantOn = (target: BrokerUnderTest) => freshTenantIn(target.url, aws.stack);

/** The user's shard (its session tag's first character): whose roles its sessions have. */
async function shardOf(userId: string) {
  const { sessionTag } = (await broker.broker.store.getConnection(userId))!;
  return aws.stack.shards[SESSION_TAG_ALPHABET.indexOf(sessionTag![0]!)]!;
}

const reasonOf = (r: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined }) => r.errors?.[0]?.extensions?.reason;

describe("access grants", () => {
  it("a tenant without grants has the default: READ on its whole prefix (today's behaviour)", async () => {
    const { tenant, token } = await freshTenant();
    const access = await execute(broker.url, MyAccessDocument, {}, token);
    expect(access.data!.myAccess).toMatchObject({ tenant, prefix: `tenants/${tenant}/`, grants: [{ id: "default", location: "", permission: "READ" }] });
    const whole = await execute(broker.url, IssueScopedCredentialsDocument, { flow: "ENHANCED" }, token);
    expect(whole.data!.issueCredentials.scope).toMatchObject({ target: "", reach: `tenants/${tenant}/`, grant: { id: "default" } });
  });

  it("administrators grant a location; users get READ credentials for exactly a target within it, and nothing outside", async () => {
    const { tenant, user, token } = await freshTenant();
    const created = await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: "readings/", permission: "READ" } }, adminToken);
    expect(created.errors).toBeUndefined();
    const grant = created.data!.createAccessGrant;
    // Idempotent: the same grant again is the same grant.
    expect((await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: "readings/", permission: "READ" } }, adminToken)).data!.createAccessGrant.id).toBe(grant.id);
    expect((await execute(broker.url, MyAccessDocument, {}, token)).data!.myAccess.grants).toEqual([grant]);

    const scoped = await execute(broker.url, IssueScopedCredentialsDocument, { flow: "CLASSIC", scope: { target: "readings/2026/", permission: "READ" } }, token);
    expect(scoped.errors).toBeUndefined();
    expect(scoped.data!.issueCredentials).toMatchObject({
      s3Uri: `s3://${aws.stack.bucket}/tenants/${tenant}/readings/2026/`,
      scope: { target: "readings/2026/", reach: `tenants/${tenant}/readings/2026/`, permission: "READ", grant: { id: grant.id } },
    });
    const object = await execute(broker.url, IssueScopedCredentialsDocument, { flow: "CLASSIC", scope: { target: "readings/2026-11-01.csv", permission: "READ" } }, token);
    expect(object.data!.issueCredentials.scope.reach).toBe(`tenants/${tenant}/readings/2026-11-01.csv`);
    // Different scopes are different credentials, never one handed out for the other.
    expect(object.data!.issueCredentials.accessKeyId).not.toBe(scoped.data!.issueCredentials.accessKeyId);

    // Outside the grant: the rest of the tenant, and the whole prefix (the default grant is gone), in both flows.
    for (const variables of [
      { flow: "CLASSIC" as const, scope: { target: "README.txt", permission: "READ" as const } },
      { flow: "CLASSIC" as const },
      { flow: "ENHANCED" as const },
    ]) {
      const refused = await execute(broker.url, IssueScopedCredentialsDocument, variables, token);
      expect(errorCodes(refused)).toEqual(["FORBIDDEN"]);
      expect(reasonOf(refused)).toBe("NO_GRANT");
    }
    const events = await broker.broker.store.auditEvents(user.sub, 50);
    expect(events.find((e) => e.action === "ISSUE" && e.outcome === "SUCCESS" && e.target === "readings/2026/")).toBeDefined();
    expect(events.find((e) => e.action === "ISSUE" && e.outcome === "FAILURE")).toMatchObject({ reason: "NO_GRANT" });

    // Removing the last grant never widens access: the tenant has exactly its grants, none now.
    expect((await execute(broker.url, DeleteAccessGrantDocument, { id: grant.id }, adminToken)).errors).toBeUndefined();
    expect((await execute(broker.url, AccessGrantsDocument, { tenant }, adminToken)).data!.accessGrants).toEqual([]);
    expect((await execute(broker.url, MyAccessDocument, {}, token)).data!.myAccess.grants).toEqual([]);
    for (const variables of [{ flow: "CLASSIC" as const }, { flow: "ENHANCED" as const }, { flow: "CLASSIC" as const, scope: { target: "readings/2026/", permission: "READ" as const } }]) {
      expect(reasonOf(await execute(broker.url, IssueScopedCredentialsDocument, variables, token))).toBe("NO_GRANT");
    }
    // An administrator gives the whole prefix back explicitly, as a grant like any other.
    expect((await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: "", permission: "READ" } }, adminToken)).errors).toBeUndefined();
    expect((await execute(broker.url, IssueScopedCredentialsDocument, { flow: "ENHANCED" }, token)).errors).toBeUndefined();
  });

  it("bounds locations by the session policy they render: refused as BAD_USER_INPUT naming the limit, at the grant and at issuance, never sent to AWS", async () => {
    const { tenant, token } = await freshTenant();
    const path = (segments: number) => `${Array.from({ length: segments }, (_, i) => `${i}`.padStart(3, "0") + "x".repeat(96)).join("/")}/`;
    // 4 segments of 100 characters, READWRITE: both statements sets over the budget.
    const tooLong = await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: path(4), permission: "READWRITE" } }, adminToken);
    expect(tooLong.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "location" });
    expect(tooLong.errors?.[0]?.message).toMatch(/session policy of \d+ characters, over the 1800 .*AWS takes 2048/);
    // One segment fits, as READWRITE; a READ grant on the whole prefix takes any target, but a target
    // whose policy would be too long is refused before any AWS call.
    expect((await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: path(1), permission: "READWRITE" } }, adminToken)).errors).toBeUndefined();
    expect((await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: "", permission: "READ" } }, adminToken)).errors).toBeUndefined();
    expect((await execute(broker.url, IssueScopedCredentialsDocument, { flow: "CLASSIC", scope: { target: path(1), permission: "WRITE" } }, token)).errors).toBeUndefined();
    const deep = await execute(broker.url, IssueScopedCredentialsDocument, { flow: "CLASSIC", scope: { target: path(5), permission: "READ" } }, token);
    expect(deep.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "scope.target" });
  });

  it("refuses scopes that leave the tenant's prefix, scopes on the ENHANCED flow, and grants by non-administrators", async () => {
    const { tenant, token } = await freshTenant();
    for (const target of ["../globex/", "/readings/", "readings/*", "${aws:PrincipalTag/tenant}/"]) {
      const result = await execute(broker.url, IssueScopedCredentialsDocument, { flow: "CLASSIC", scope: { target, permission: "READ" } }, token);
      expect(errorCodes(result)).toEqual(["BAD_USER_INPUT"]);
      expect(result.errors![0]!.extensions!.field).toBe("scope.target");
    }
    const enhanced = await execute(broker.url, IssueScopedCredentialsDocument, { flow: "ENHANCED", scope: { target: "readings/", permission: "READ" } }, token);
    expect(errorCodes(enhanced)).toEqual(["BAD_USER_INPUT"]);
    expect(enhanced.errors![0]!.message).toMatch(/CLASSIC/);
    expect(errorCodes(await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: "", permission: "READ" } }, token))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: "../x/", permission: "READ" } }, adminToken))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await execute(broker.url, CreateAccessGrantDocument, { input: { tenant: "a/b", location: "", permission: "READ" } }, adminToken))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await execute(broker.url, AccessGrantsDocument, { tenant }, token))).toEqual(["FORBIDDEN"]);
  });

  it("client keys take the same scopes, checked at creation and at every issuance", async () => {
    const { tenant, user, token } = await freshTenant();
    const grant = (await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: "readings/", permission: "READ" } }, adminToken)).data!.createAccessGrant;
    const create = (input: Record<string, unknown>) => execute(broker.url, CreateClientKeyDocument, { input: { name: "job", ...input } as never }, token);

    const scoped = await create({ flow: "CLASSIC", durationSeconds: 3600, scope: { target: "readings/", permission: "READ" } });
    expect(scoped.errors).toBeUndefined();
    expect(scoped.data!.createClientKey.key.scopeTarget).toBe("readings/");
    expect((await fetchCredentials(baseUrlOf(broker.url), scoped.data!.createClientKey.secret)).status).toBe(200);
    const issued = (await broker.broker.store.auditEvents(user.sub, 50)).find((e) => e.action === "ISSUE" && e.clientKeyId === scoped.data!.createClientKey.key.id);
    expect(issued).toMatchObject({ outcome: "SUCCESS", target: "readings/" });

    expect(reasonOf(await create({ flow: "CLASSIC" }))).toBe("NO_GRANT");
    expect(errorCodes(await create({ flow: "ENHANCED", scope: { target: "readings/", permission: "READ" } }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await create({ flow: "CLASSIC", scope: { target: "../x/", permission: "READ" } }))).toEqual(["BAD_USER_INPUT"]);

    // The grant goes (another takes its place): the key is refused at once, also while its credentials are cached.
    await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: "other/", permission: "READ" } }, adminToken);
    await execute(broker.url, DeleteAccessGrantDocument, { id: grant.id }, adminToken);
    expect(await fetchCredentials(baseUrlOf(broker.url), scoped.data!.createClientKey.secret)).toMatchObject({ status: 403, body: { Code: "FORBIDDEN" } });
  });

  it("WRITE and READWRITE grants: write credentials come from the writer role, classic flow only, never beyond the grant", async () => {
    const { tenant, token } = await freshTenant();
    const grant = (location: string, permission: "READ" | "WRITE" | "READWRITE") =>
      execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location, permission } }, adminToken);
    expect((await grant("uploads/", "WRITE")).errors).toBeUndefined();
    expect((await grant("shared/", "READWRITE")).errors).toBeUndefined();
    const issue = (target: string, permission: "READ" | "WRITE" | "READWRITE", flow: "CLASSIC" | "ENHANCED" = "CLASSIC") =>
      execute(broker.url, IssueScopedCredentialsDocument, { flow, scope: { target, permission } }, token);

    const upload = await issue("uploads/", "WRITE");
    expect(upload.errors).toBeUndefined();
    expect(upload.data!.issueCredentials.scope).toMatchObject({ permission: "WRITE", reach: `tenants/${tenant}/uploads/` });
    const full = (await execute(broker.url, IssueScopedCredentialsDocument, { flow: "CLASSIC", scope: { target: "uploads/", permission: "WRITE" } }, token)).data!.issueCredentials;
    // The same scope again is the same credentials (reused); a real client uploads with them.
    expect(full.accessKeyId).toBe(upload.data!.issueCredentials.accessKeyId);

    expect(reasonOf(await issue("uploads/", "READ"))).toBe("NO_GRANT");
    expect(reasonOf(await issue("readings/", "WRITE"))).toBe("NO_GRANT");
    expect((await issue("shared/", "READ")).data!.issueCredentials.scope.permission).toBe("READ");
    expect((await issue("shared/x.csv", "READWRITE")).data!.issueCredentials.scope).toMatchObject({ permission: "READWRITE", grant: { location: "shared/" } });
    expect(errorCodes(await issue("uploads/", "WRITE", "ENHANCED"))).toEqual(["BAD_USER_INPUT"]);
  });

  it("write credentials are the writer role's, and a real S3 client uploads with them", async () => {
    const { tenant, user, token } = await freshTenant();
    await execute(broker.url, CreateAccessGrantDocument, { input: { tenant, location: "", permission: "READWRITE" } }, adminToken);
    const issued = await execute(broker.url, IssueCredentialsWithKeysDocument, { flow: "CLASSIC", scope: { target: "uploads/", permission: "WRITE" } }, token);
    expect(issued.errors).toBeUndefined();
    const c = issued.data!.issueCredentials;
    const credentials = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
    const common = { region: aws.stack.region, endpoint: aws.stack.endpoint!, credentials };
    const sts = new STSClient(common);
    const s3 = new S3Client({ ...common, forcePathStyle: true });
    try {
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      expect(identity.Arn).toContain((await shardOf(user.sub)).writerRoleArn.split("/").at(-1));
      const key = `tenants/${tenant}/uploads/report.csv`;
      await s3.send(new PutObjectCommand({ Bucket: aws.stack.bucket, Key: key, Body: "a,b\n1,2\n" }));
      expect(await (await s3.send(new GetObjectCommand({ Bucket: aws.stack.bucket, Key: key }))).Body!.transformToString()).toBe("a,b\n1,2\n");
    } finally {
      sts.destroy();
      s3.destroy();
    }
    // READ scopes stay on the reader role.
    const read = (await execute(broker.url, IssueCredentialsWithKeysDocument, { flow: "CLASSIC", scope: { target: "uploads/", permission: "READ" } }, token)).data!.issueCredentials;
    const readSts = new STSClient({ ...common, credentials: { accessKeyId: read.accessKeyId, secretAccessKey: read.secretAccessKey, sessionToken: read.sessionToken } });
    try {
      expect((await readSts.send(new GetCallerIdentityCommand({}))).Arn).toContain((await shardOf(user.sub)).readerRoleArn.split("/").at(-1));
    } finally {
      readSts.destroy();
    }
  });

  it("a broker without a writer role refuses write scopes with a clear BAD_USER_INPUT", async () => {
    const readOnly = await startBroker(
      { ...aws.stack, writerRoleArn: undefined as unknown as string },
      { SESSION_SHARDS: JSON.stringify(aws.stack.shards.map((s) => ({ readerRoleArn: s.readerRoleArn, denyListPolicyArns: s.denyListPolicyArns }))) },
    );
    try {
      const { tenant, token } = await freshTenantOn(readOnly);
      await execute(readOnly.url, CreateAccessGrantDocument, { input: { tenant, location: "", permission: "READWRITE" } }, adminToken);
      const refused = await execute(readOnly.url, IssueScopedCredentialsDocument, { flow: "CLASSIC", scope: { target: "uploads/", permission: "WRITE" } }, token);
      expect(errorCodes(refused)).toEqual(["BAD_USER_INPUT"]);
      expect(refused.errors![0]!.message).toMatch(/CLASSIC_WRITER_ROLE_ARN/);
    } finally {
      await readOnly.close();
    }
  });

  it("records the caller's audit context with the issuance, and refuses one that is too long", async () => {
    const { user, token } = await freshTenant();
    const issued = await execute(broker.url, IssueScopedCredentialsDocument, { flow: "CLASSIC", auditContext: "nightly export #42" }, token);
    expect(issued.errors).toBeUndefined();
    const trail = await execute(broker.url, AuditEventsDocument, { first: 5 }, token);
    expect(trail.data!.auditEvents.nodes.find((e) => e.action === "ISSUE")).toMatchObject({ auditContext: "nightly export #42", subjectUserId: user.sub });
    const tooLong = await execute(broker.url, IssueScopedCredentialsDocument, { flow: "CLASSIC", auditContext: "x".repeat(257) }, token);
    expect(errorCodes(tooLong)).toEqual(["BAD_USER_INPUT"]);
    expect(tooLong.errors![0]!.extensions!.field).toBe("auditContext");
  });
});
