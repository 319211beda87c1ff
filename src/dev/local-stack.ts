import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { StackInfo } from "./bootstrap.js";

export const LOCAL_DIR = resolve(process.cwd(), ".local");
export const STACK_FILE = resolve(LOCAL_DIR, "stack.json");

/** moto accepts any credentials; the SDKs only need some to sign with. */
export function useEmulatorCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID ??= "testing";
  process.env.AWS_SECRET_ACCESS_KEY ??= "testing";
}

export function readStack(): StackInfo {
  try {
    return JSON.parse(readFileSync(STACK_FILE, "utf8")) as StackInfo;
  } catch {
    throw new Error(`No local stack found at ${STACK_FILE}. Start it first with: npm run stack`);
  }
}
