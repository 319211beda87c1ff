import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import GithubSlugger from "github-slugger";
import { buildSchema } from "graphql";
import { Lexer, type Token, type Tokens } from "marked";
import { describe, expect, it } from "vitest";
import { REFUSAL_STATUS } from "../../src/http/refusals.js";

/**
 * The docs are what every reader starts from: a link that leads nowhere, a script that does not
 * exist or a table that says another status than the code are each a reader's lost afternoon.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const PAGES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const read = (page: string) => readFileSync(join(ROOT, page), "utf8");

/** Every token of a page, nested ones (links inside list items, tables, emphasis) included. */
function walk(tokens: Token[], visit: (token: Token) => void): void {
  for (const token of tokens) {
    visit(token);
    const nested = token as { tokens?: Token[]; items?: Token[]; header?: Array<{ tokens: Token[] }>; rows?: Array<Array<{ tokens: Token[] }>> };
    if (nested.tokens) walk(nested.tokens, visit);
    if (nested.items) walk(nested.items, visit);
    for (const cell of nested.header ?? []) walk(cell.tokens, visit);
    for (const row of nested.rows ?? []) for (const cell of row) walk(cell.tokens, visit);
  }
}

function tokensOf(page: string): Token[] {
  return new Lexer().lex(read(page));
}

/** The anchors GitHub gives a page's headings. */
function anchorsOf(page: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  walk(tokensOf(page), (token) => {
    if (token.type === "heading") anchors.add(slugger.slug((token as Tokens.Heading).text.replace(/`/g, "")));
  });
  return anchors;
}

describe("the docs", () => {
  it("link only to files and headings that exist", () => {
    const broken: string[] = [];
    let checked = 0;
    for (const page of PAGES) {
      walk(tokensOf(page), (token) => {
        if (token.type !== "link") return;
        const href = (token as Tokens.Link).href;
        if (/^[a-z]+:/i.test(href)) return; // https:, mailto: — not ours to check offline
        checked += 1;
        const [path, anchor] = href.split("#") as [string, string | undefined];
        const target = path === "" ? page : relative(ROOT, resolve(ROOT, dirname(page), path));
        if (!existsSync(join(ROOT, target))) return void broken.push(`${page}: ${href} (no file ${target})`);
        if (anchor !== undefined && target.endsWith(".md") && !anchorsOf(target).has(anchor)) broken.push(`${page}: ${href} (no heading #${anchor} in ${target})`);
      });
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });

  it("name only npm scripts that exist", () => {
    const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts);
    const named = new Set<string>();
    for (const page of PAGES) for (const match of read(page).matchAll(/npm run (?:-s |--silent )?([a-z][\w:.-]*)/g)) named.add(match[1]!);
    expect([...named].filter((name) => !scripts.includes(name))).toEqual([]);
    expect(named.size).toBeGreaterThan(5);
  });

  it("use the address the local stack prints, not a fixed port", () => {
    for (const page of PAGES) expect(read(page), page).not.toMatch(/127\.0\.0\.1:4000|localhost:4000/);
  });

  it("keep the README a front page: the two commands first, at most about 200 lines", () => {
    const readme = read("README.md");
    const commands = /```sh\n(.*)\n(.*)\n```/.exec(readme);
    expect(commands?.[1]).toMatch(/^npm ci && npm run stack\b/);
    expect(commands?.[2]).toMatch(/^npm ci && npm test\b/);
    expect(readme.indexOf(commands![0])).toBeLessThan(200);
    expect(readme.split("\n").length).toBeLessThanOrEqual(210);
  });

  it("list every code with the HTTP status the code decides (docs/errors.md = REFUSAL_STATUS)", () => {
    const rows = [...read("docs/errors.md").matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    expect(Object.fromEntries(rows)).toEqual(REFUSAL_STATUS);
    expect(rows).toHaveLength(Object.keys(REFUSAL_STATUS).length);
  });

  it("summarise every root field of the schema in the API page", () => {
    const schema = buildSchema(read("schema.graphql"));
    const summary = /```graphql\n([^`]*?type Query[^`]*?)```/.exec(read("docs/api.md"))?.[1] ?? "";
    const fields = [schema.getQueryType()!, schema.getMutationType()!].flatMap((type) => Object.keys(type.getFields()));
    expect(fields.filter((field) => !new RegExp(`^\\s+${field}\\b`, "m").test(summary))).toEqual([]);
  });

  it("describe every setting the broker reads, and no setting it does not (docs/configuration.md)", () => {
    const settings = new Set([...read("src/config/environment.ts").matchAll(/^\s+([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]!));
    const documented = new Set([...read("docs/configuration.md").matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((n) => n[1]!)));
    expect(settings.size).toBeGreaterThan(50);
    expect([...settings].filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => !settings.has(name))).toEqual([]);
  });

  it("name only metrics the broker exports, and every one it exports", () => {
    const exported = new Set([...read("src/metrics.ts").matchAll(/name: "(broker_[a-z_]+)"/g)].map((m) => m[1]!));
    const named = new Set(PAGES.flatMap((page) => [...read(page).matchAll(/`(broker_(?:[a-z_]+_)?(?:total|seconds|bytes|ratio|entries|documents|ready|up))(?:\{[^`]*\})?`/g)].map((m) => m[1]!)));
    // Prometheus' default process metrics, prefixed by the broker (enableDefaultMetrics), are documented by one example.
    const unknown = [...named].filter((name) => !exported.has(name) && !name.startsWith("broker_process_"));
    expect(unknown).toEqual([]);
    expect([...exported].filter((name) => !named.has(name))).toEqual([]);
  });
});
