import { CognitoIdentityProviderClient, ListUsersCommand } from "@aws-sdk/client-cognito-identity-provider";
import type { DemoUser, StackInfo } from "../../src/dev/bootstrap.js";
import { poolAIdToken } from "../../src/dev/pool-a-sign-in.js";

export function demoUser(stack: StackInfo, username: "alice" | "bob" | "admin"): DemoUser {
  const user = stack.demoUsers.find((u) => u.username === username);
  if (!user) throw new Error(`no demo user ${username}`);
  return user;
}

/** A real Pool A ID token for a demo user, signed in as the application's front end would. */
export function tokenFor(stack: StackInfo, username: "alice" | "bob" | "admin"): Promise<string> {
  const user = demoUser(stack, username);
  return poolAIdToken(stack, user.username, user.password);
}

/** An administrator's client for Pool B, for tests that act behind the broker's back. */
export function poolBAdmin(stack: StackInfo): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({ region: stack.region, ...(stack.endpoint ? { endpoint: stack.endpoint } : {}) });
}

export async function poolBUsers(stack: StackInfo): Promise<Array<{ username: string; tenant: string | undefined; enabled: boolean }>> {
  const client = poolBAdmin(stack);
  try {
    const response = await client.send(new ListUsersCommand({ UserPoolId: stack.poolB.userPoolId }));
    return (response.Users ?? []).map((u) => ({
      username: u.Username!,
      tenant: u.Attributes?.find((a) => a.Name === "custom:tenant")?.Value,
      enabled: u.Enabled ?? false,
    }));
  } finally {
    client.destroy();
  }
}
