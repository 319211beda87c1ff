/**
 * Prints a Pool A token from the running local stack:
 *   npm run -s token -- alice                      a demo user's ID token (signed in through moto)
 *   npm run -s token -- --partner [scope ...]      the example partner's client-credentials access token
 */
import { PARTNER_SCOPES, type PartnerScope } from "../auth/partners.js";
import { mintPartnerToken } from "./moto-tokens.js";
import { poolAIdToken } from "./pool-a-sign-in.js";
import { readStack, useEmulatorCredentials } from "./local-stack.js";

async function partnerToken(scopes: string[]): Promise<string> {
  const unknown = scopes.filter((s) => !PARTNER_SCOPES.includes(s as PartnerScope));
  if (unknown.length) throw new Error(`Unknown scope ${unknown.join(", ")}; choose from: ${PARTNER_SCOPES.join(", ")}`);
  const stack = readStack();
  // moto has no OAuth 2.0 token endpoint (/oauth2/token): the token is minted with moto's own signing
  // key and the claims Cognito gives a client-credentials token. On AWS, the partner asks the token
  // endpoint: curl -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials https://<domain>/oauth2/token
  return mintPartnerToken(stack, scopes.length ? (scopes as PartnerScope[]) : PARTNER_SCOPES);
}

async function main(): Promise<void> {
  useEmulatorCredentials();
  // Keep the output to the token alone (the broker itself still shows the SDK's Node version notice).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const [first, ...rest] = process.argv.slice(2);
  if (first === "--partner") {
    process.stdout.write((await partnerToken(rest)) + "\n");
    if (process.stdout.isTTY) process.stderr.write(`\nA partner token (tenant acme, valid an hour): it must name userId in every field.\n`);
    return;
  }
  const username = first ?? "alice";
  const stack = readStack();
  const user = stack.demoUsers.find((u) => u.username === username);
  if (!user) throw new Error(`Unknown demo user "${username}"; choose one of: ${stack.demoUsers.map((u) => u.username).join(", ")} (or --partner)`);
  const token = await poolAIdToken(stack, user.username, user.password);
  process.stdout.write(token + "\n");
  if (process.stdout.isTTY) {
    process.stderr.write(`\nIn Apollo Sandbox, add the header  Authorization: Bearer <the token above>\n`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
