/** Prints a demo user's Pool A ID token from the running local stack: `npm run -s token -- alice`. */
import { poolAIdToken } from "./pool-a-sign-in.js";
import { readStack, useEmulatorCredentials } from "./local-stack.js";

async function main(): Promise<void> {
  useEmulatorCredentials();
  // Keep the output to the token alone (the broker itself still shows the SDK's Node version notice).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const username = process.argv[2] ?? "alice";
  const stack = readStack();
  const user = stack.demoUsers.find((u) => u.username === username);
  if (!user) throw new Error(`Unknown demo user "${username}"; choose one of: ${stack.demoUsers.map((u) => u.username).join(", ")}`);
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
