import { buildSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { PreparedOperations, type RequestFacts } from "../../src/http/prepared-operations.js";

const schema = buildSchema("type Query { hello(name: String): String }");
const authenticated: RequestFacts = { contentType: "application/json", accept: undefined, mayRemember: true };
const prepare = (maxCacheBytes = 1024 * 1024) => new PreparedOperations(schema, { validationRules: [], maxTokens: 1000, maxCacheBytes });

/** A distinct, valid document of about `fields` aliased fields. */
const documentOf = (id: number, fields = 1) => `query Q${id} { ${Array.from({ length: fields }, (_, i) => `a${i}: hello(name: "x")`).join(" ")} }`;

describe("the hot path's request check", () => {
  it.each([
    ["application/json", true],
    ["application/json; charset=utf-8", true],
    ["Application/JSON", true],
    // Bodies a cross-site form or a simple fetch can send: whatever a parser made of them, Apollo decides.
    ["text/plain", false],
    ["text/plain; charset=utf-8", false],
    ["application/x-www-form-urlencoded", false],
    ["multipart/form-data; boundary=x", false],
    ["application/graphql", false],
    ["application/json-patch+json", false],
    ["not a media type", false],
    [undefined, false],
  ] as const)("content type %s: answered here = %s", (contentType, answered) => {
    const match = prepare().match({ query: "{ hello }" }, { ...authenticated, contentType });
    expect(match !== undefined).toBe(answered);
  });
});

describe("the hot path's document cache", () => {
  it("stays within its byte bound however many distinct documents arrive", () => {
    const bound = 256 * 1024;
    const prepared = prepare(bound);
    for (let i = 0; i < 5_000; i += 1) expect(prepared.match({ query: documentOf(i, 8) }, authenticated)).toBeDefined();
    expect(prepared.cached.bytes).toBeLessThanOrEqual(bound);
    // It still remembers: the most recent documents are there.
    expect(prepared.cached.documents).toBeGreaterThan(10);
  });

  it("counts a document by its tokens, so large ones fill it sooner than small ones", () => {
    const small = prepare();
    small.match({ query: documentOf(1, 1) }, authenticated);
    const large = prepare(8 * 1024 * 1024);
    large.match({ query: documentOf(1, 100) }, authenticated);
    expect(large.cached.bytes).toBeGreaterThan(50 * small.cached.bytes);
  });

  it("does not remember a document larger than an eighth of the bound, and still answers it", () => {
    const prepared = prepare(64 * 1024);
    expect(prepared.match({ query: documentOf(1, 100) }, authenticated)).toBeDefined();
    expect(prepared.cached).toEqual({ bytes: 0, documents: 0 });
  });

  it("lets a caller who may not add documents use the ones already there, and nothing else", () => {
    const prepared = prepare();
    expect(prepared.match({ query: documentOf(1) }, authenticated)).toBeDefined();
    const anonymous = { ...authenticated, mayRemember: false };
    expect(prepared.match({ query: documentOf(1) }, anonymous)).toBeDefined();
    for (let i = 2; i < 100; i += 1) expect(prepared.match({ query: documentOf(i) }, anonymous)).toBeUndefined();
    expect(prepared.cached.documents).toBe(1);
  });

  it("keys documents by operation name and text together", () => {
    const prepared = prepare();
    const query = "query A { hello } query B { hello(name: \"b\") }";
    expect(prepared.match({ query, operationName: "A" }, authenticated)?.prepared.operation.name?.value).toBe("A");
    expect(prepared.match({ query, operationName: "B" }, authenticated)?.prepared.operation.name?.value).toBe("B");
    expect(prepared.cached.documents).toBe(2);
  });
});
