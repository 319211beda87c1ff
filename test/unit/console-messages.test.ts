import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors.js";
import { LANGUAGES, MESSAGES } from "../../src/console/messages.js";

/**
 * The console's catalogue: every string the page can show exists in every language it speaks, with
 * the same placeholders, and every key the page asks for is in it (a missing one would show as its
 * key). Keys the scripts build from the broker's values (states, permissions, audit actions, error
 * codes) are checked against where those values are defined.
 */
const CONSOLE = join(import.meta.dirname, "../../src/console");
const catalogues = MESSAGES as Record<string, Record<string, string>>;
const languages = Object.keys(LANGUAGES as Record<string, string>);
const keys = new Set(Object.keys(catalogues.en!));
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const scripts = readdirSync(CONSOLE)
  .filter((file) => file.endsWith(".js") && file !== "messages.js")
  .map((file) => readFileSync(join(CONSOLE, file), "utf8"))
  .join("\n");

/** The values of a GraphQL enum in schema.graphql. */
function enumValues(name: string): string[] {
  const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(readFileSync(join(import.meta.dirname, "../../schema.graphql"), "utf8"))![1]!;
  return body.split("\n").map((line) => line.trim()).filter((line) => /^[A-Z_]+$/.test(line));
}

describe("the console's messages", () => {
  it("speak English and Japanese, each with every key, nothing empty, the same placeholders, and nothing left untranslated", () => {
    expect(languages).toEqual(["en", "ja"]);
    for (const language of languages) {
      const catalogue = catalogues[language]!;
      expect(Object.keys(catalogue).filter((key) => !keys.has(key)), `${language}: keys English lacks`).toEqual([]);
      expect([...keys].filter((key) => !Object.hasOwn(catalogue, key)), `${language}: keys missing`).toEqual([]);
      expect(Object.keys(catalogue).filter((key) => catalogue[key]!.trim() === ""), `${language}: empty`).toEqual([]);
      expect([...keys].filter((key) => placeholders(catalogue[key]!).join() !== placeholders(catalogues.en![key]!).join()), `${language}: placeholders`).toEqual([]);
    }
    expect([...keys].filter((key) => catalogues.ja![key] === catalogues.en![key]), "the same in Japanese as in English").toEqual([]);
  });

  it("have every key the page and its scripts ask for", () => {
    const html = readFileSync(join(CONSOLE, "index.html"), "utf8");
    const fromPage = [...html.matchAll(/data-i18n(?:-label)?="([^"]+)"/g)].map((m) => m[1]!);
    const fromScripts = [...scripts.matchAll(/\bt\(["']([^"']+)["']/g)].map((m) => m[1]!);
    const setups = [...scripts.matchAll(/\bsetup\("(\w+)"/g)].flatMap((m) => [`setup.${m[1]}`, `setup.${m[1]}.copy`]);
    const pageErrors = [...scripts.matchAll(/new PageError\(`?"?([\w.]+)/g)].map((m) => m[1]!).filter((key) => !key.endsWith("."));
    expect(fromPage.length).toBeGreaterThan(90);
    expect(fromScripts.length).toBeGreaterThan(45);
    expect(setups).toHaveLength(16);
    expect([...fromPage, ...fromScripts, ...setups, ...pageErrors].filter((key) => !keys.has(key))).toEqual([]);
  });

  it("name every value the broker sends that the page words: states, permissions, audit actions and outcomes, error codes, the managed login's refusals", () => {
    const store = readFileSync(join(import.meta.dirname, "../../src/store/store.ts"), "utf8");
    const actions = [.../export type AuditAction =([^;]*);/.exec(store)![1]!.matchAll(/"(\w+)"/g)].map((m) => m[1]!);
    const outcomes = [.../export type AuditOutcome =([^;]*);/.exec(store)![1]!.matchAll(/"(\w+)"/g)].map((m) => m[1]!);
    expect(actions.length).toBeGreaterThan(10);
    const wanted = [
      ...enumValues("ConnectionState").map((s) => `state.${s}`),
      ...enumValues("AccessPermission").map((p) => `permission.${p}`),
      ...[...actions, ...outcomes].map((a) => `audit.${a}`),
      ...Object.values(ErrorCode).map((code) => `error.${code}`),
      ...["access_denied", "temporarily_unavailable", "server_error", "other"].map((e) => `signIn.oauth.${e}`),
    ];
    expect(wanted.filter((key) => !keys.has(key))).toEqual([]);
  });
});
