import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FolderDocument, ObjectsDocument, PresignDownloadDocument, PresignDownloadsDocument, PresignUploadDocument, PresignUploadsDocument } from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { errorCodes, execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";
import { freshTenant, type GrantInput } from "../support/tenants.js";

/**
 * What a front end does over GraphQL alone: see what it can reach, upload through a presigned POST
 * into a WRITE grant, list it, download it through a presigned URL; real HTTP against moto.
 * (moto does not evaluate the POST policy's conditions; the policy the broker signed is checked.)
 */
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

const freshTenantWith = (grants: GrantInput[]) => freshTenant(broker.url, aws.stack, { adminToken, grants });

describe("presigned uploads, listing and downloads", () => {
  it("upload into a WRITE grant, list it, download it: over GraphQL and plain HTTP only", async () => {
    const { tenant, token } = await freshTenantWith([
      { location: "uploads/", permission: "READWRITE" },
      { location: "readings/", permission: "READ" },
    ]);
    const body = `device,reading\n${tenant}-1,42\n`;

    const presigned = await execute(broker.url, PresignUploadDocument, { key: "uploads/today.csv", maxBytes: 1024, contentType: "text/csv" }, token);
    expect(presigned.errors).toBeUndefined();
    const upload = presigned.data!.presignUpload;
    const fields = upload.fields as Record<string, string>;
    expect(fields.key).toBe(`tenants/${tenant}/uploads/today.csv`);
    // The policy the broker signed: exactly this key, at most maxBytes, this content type, and an expiry.
    const policy = JSON.parse(Buffer.from(fields.Policy!, "base64").toString("utf8")) as { expiration: string; conditions: unknown[] };
    expect(policy.conditions).toEqual(
      expect.arrayContaining([["content-length-range", 0, 1024], ["eq", "$key", `tenants/${tenant}/uploads/today.csv`], ["eq", "$Content-Type", "text/csv"]]),
    );
    expect(new Date(policy.expiration).getTime()).toBeLessThanOrEqual(new Date(upload.expiresAt).getTime() + 1000);

    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", new Blob([body], { type: "text/csv" }), "today.csv");
    const posted = await fetch(upload.url, { method: "POST", body: form });
    expect(posted.status).toBeLessThan(300);

    const listed = await execute(broker.url, ObjectsDocument, { prefix: "uploads/", first: 10 }, token);
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.objects.objects).toEqual([expect.objectContaining({ key: "uploads/today.csv", size: body.length })]);

    const download = await execute(broker.url, PresignDownloadDocument, { key: "uploads/today.csv", expiresInSeconds: 300 }, token);
    expect(download.errors).toBeUndefined();
    const link = download.data!.presignDownload;
    expect(new Date(link.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(300_000);
    expect(link.url).toContain("X-Amz-Security-Token");
    const fetched = await fetch(link.url);
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toBe(body);
  });

  it("pages a listing with opaque cursors bound to its prefix and tenant; any other cursor is the caller's BAD_USER_INPUT", async () => {
    const upload = async (token: string, key: string) => {
      const { fields, url } = (await execute(broker.url, PresignUploadDocument, { key, maxBytes: 100, contentType: "text/csv" }, token)).data!.presignUpload;
      const form = new FormData();
      for (const [name, value] of Object.entries(fields as Record<string, string>)) form.append(name, value);
      form.append("file", new Blob(["a,b\n"], { type: "text/csv" }), "x.csv");
      expect((await fetch(url, { method: "POST", body: form })).status).toBeLessThan(300);
    };
    const grants: GrantInput[] = [
      { location: "uploads/", permission: "READWRITE" },
      { location: "archive/", permission: "READWRITE" },
    ];
    const [mine, theirs] = [await freshTenantWith(grants), await freshTenantWith(grants)];
    for (const name of ["a.csv", "b.csv", "c.csv"]) await upload(mine.token, `uploads/${name}`);
    await upload(mine.token, "archive/old.csv");
    for (const name of ["a.csv", "b.csv"]) await upload(theirs.token, `uploads/${name}`);

    const first = (await execute(broker.url, ObjectsDocument, { prefix: "uploads/", first: 1 }, mine.token)).data!.objects;
    expect(first.objects.map((o) => o.key)).toEqual(["uploads/a.csv"]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await execute(broker.url, ObjectsDocument, { prefix: "uploads/", first: 1, after: first.pageInfo.endCursor }, mine.token)).data!.objects;
    expect(second.objects.map((o) => o.key)).toEqual(["uploads/b.csv"]);
    const theirCursor = (await execute(broker.url, ObjectsDocument, { prefix: "uploads/", first: 1 }, theirs.token)).data!.objects.pageInfo.endCursor!;

    const refusedFor = async (prefix: string, after: string) => (await execute(broker.url, ObjectsDocument, { prefix, first: 1, after }, mine.token)).errors?.[0]?.extensions;
    for (const [prefix, after] of [
      ["uploads/", "junk"],
      ["archive/", first.pageInfo.endCursor!],
      ["uploads/", theirCursor],
      ["uploads/", `${first.pageInfo.endCursor!.slice(0, -2)}xx`],
    ] as const) {
      expect(await refusedFor(prefix, after), `${prefix} ${after}`).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
    }
  });

  it("uploads and downloads a folder's files with one request each, and lists one folder at a time, as a file browser does", async () => {
    const { token } = await freshTenantWith([{ location: "uploads/", permission: "READWRITE" }]);
    const contents: Record<string, string> = { "uploads/top.csv": "top\n", "uploads/2026/a.csv": "a\n", "uploads/2026/b.csv": "bb\n", "uploads/2026/deep/c.csv": "ccc\n" };
    const presigned = await execute(broker.url, PresignUploadsDocument, { files: Object.entries(contents).map(([key, body]) => ({ key, maxBytes: body.length })) }, token);
    expect(presigned.errors).toBeUndefined();
    for (const post of presigned.data!.presignUploads) {
      const form = new FormData();
      for (const [name, value] of Object.entries(post.fields as Record<string, string>)) form.append(name, value);
      form.append("file", new Blob([contents[post.key]!]), post.key);
      expect((await fetch(post.url, { method: "POST", body: form })).status).toBeLessThan(300);
    }

    const level = async (prefix: string, first = 10, after?: string | null) => (await execute(broker.url, FolderDocument, { prefix, first, ...(after ? { after } : {}) }, token)).data!.objects;
    const top = await level("uploads/");
    expect([top.folders, top.objects.map((o) => o.key)]).toEqual([["uploads/2026/"], ["uploads/top.csv"]]);
    const year = await level("uploads/2026/");
    expect([year.folders, year.objects.map((o) => [o.key, o.size])]).toEqual([["uploads/2026/deep/"], [["uploads/2026/a.csv", 2], ["uploads/2026/b.csv", 3]]]);
    // A page counts folders and files together; its cursor continues this listing by folder only.
    const first = await level("uploads/2026/", 2);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = await level("uploads/2026/", 2, first.pageInfo.endCursor);
    expect([...first.folders, ...first.objects.map((o) => o.key), ...rest.folders, ...rest.objects.map((o) => o.key)].sort()).toEqual(["uploads/2026/a.csv", "uploads/2026/b.csv", "uploads/2026/deep/"]);
    const flat = await execute(broker.url, ObjectsDocument, { prefix: "uploads/2026/", first: 1, after: first.pageInfo.endCursor }, token);
    expect(flat.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });

    const downloads = await execute(broker.url, PresignDownloadsDocument, { keys: ["uploads/2026/a.csv", "uploads/2026/b.csv"], expiresInSeconds: 120 }, token);
    expect(downloads.errors).toBeUndefined();
    const links = downloads.data!.presignDownloads;
    expect(await Promise.all(links.map(async (link) => [link.key, await (await fetch(link.url)).text()]))).toEqual([
      ["uploads/2026/a.csv", "a\n"],
      ["uploads/2026/b.csv", "bb\n"],
    ]);
    // As attachments, S3 answers with the object's name, so a browser saves them rather than opening
    // them in place of the page: the override is in the signed query (moto ignores it; AWS applies it).
    const saved = (await execute(broker.url, PresignDownloadsDocument, { keys: ["uploads/2026/a.csv"], attachment: true }, token)).data!.presignDownloads[0]!;
    expect(new URL(saved.url).searchParams.get("response-content-disposition")).toBe("attachment; filename=a.csv");
    expect(new URL(links[0]!.url).searchParams.has("response-content-disposition")).toBe(false);
    // Each URL is signed (SigV4 covers the path) for its own object. moto does not check presigned
    // signatures, so the object each URL names is what is checked here.
    expect(links.map((link) => new URL(link.url).pathname.split("/").slice(-2).join("/"))).toEqual(["2026/a.csv", "2026/b.csv"]);
  });

  it("refuses uploads outside WRITE grants, downloads outside READ grants, and bad input", async () => {
    const { token } = await freshTenantWith([{ location: "readings/", permission: "READ" }]);
    const reason = (r: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined }) => r.errors?.[0]?.extensions?.reason;
    expect(reason(await execute(broker.url, PresignUploadDocument, { key: "readings/x.csv", maxBytes: 10 }, token))).toBe("NO_GRANT");
    expect(reason(await execute(broker.url, PresignDownloadDocument, { key: "other/x.csv" }, token))).toBe("NO_GRANT");
    expect(reason(await execute(broker.url, ObjectsDocument, { prefix: "", first: 10 }, token))).toBe("NO_GRANT");
    expect(errorCodes(await execute(broker.url, PresignDownloadDocument, { key: "readings/" }, token))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await execute(broker.url, PresignDownloadDocument, { key: "../globex/x" }, token))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await execute(broker.url, PresignDownloadDocument, { key: "readings/x", expiresInSeconds: 7200 }, token))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await execute(broker.url, PresignUploadDocument, { key: "readings/x", maxBytes: 0 }, token))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await execute(broker.url, ObjectsDocument, { prefix: "readings", first: 10 }, token))).toEqual(["BAD_USER_INPUT"]);
  });
});
