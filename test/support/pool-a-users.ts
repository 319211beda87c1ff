import { randomBytes, randomUUID } from "node:crypto";
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  type CognitoIdentityProviderClient,
} from "@aws-sdk/client-cognito-identity-provider";
import type { StackInfo } from "../../src/dev/bootstrap.js";
import { poolASignIn } from "../../src/dev/pool-a-sign-in.js";
import { poolBAdmin } from "./users.js";

/** A Pool A user made for one test, so that no test depends on what another did to a shared user. */
export interface TestPoolAUser {
  username: string;
  /** For tests that sign in as a person does (the console's form). */
  password: string;
  sub: string;
  /** Signs in as the application's front end would: both tokens. */
  signIn(): Promise<{ idToken: string; accessToken: string }>;
  /** The Pool A administrator's change of an attribute (the application's own admin tooling). */
  setTenant(tenant: string): Promise<void>;
}

/** An administrator's client for Pool A: the same client as for Pool B (each call names its pool). */
export function poolAAdmin(stack: StackInfo): CognitoIdentityProviderClient {
  return poolBAdmin(stack);
}

/** A new Pool A user with a password; `email`: a verified e-mail address (as after the application's verification). */
export async function freshPoolAUser(stack: StackInfo, options: { tenant?: string | null; admin?: boolean; email?: string } = {}): Promise<TestPoolAUser> {
  const client = poolAAdmin(stack);
  const username = `user-${randomUUID().slice(0, 8)}`;
  const password = `Pw-${randomBytes(9).toString("base64url")}1a!`;
  const UserPoolId = stack.poolA.userPoolId;
  const tenant = options.tenant === undefined ? "acme" : options.tenant;
  try {
    await client.send(
      new AdminCreateUserCommand({
        UserPoolId,
        Username: username,
        MessageAction: "SUPPRESS",
        UserAttributes: [
          ...(tenant === null ? [] : [{ Name: "custom:tenant", Value: tenant }]),
          ...(options.email ? [{ Name: "email", Value: options.email }, { Name: "email_verified", Value: "true" }] : []),
        ],
      }),
    );
    await client.send(new AdminSetUserPasswordCommand({ UserPoolId, Username: username, Password: password, Permanent: true }));
    if (options.admin) await client.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: username, GroupName: stack.adminGroup }));
    const user = await client.send(new AdminGetUserCommand({ UserPoolId, Username: username }));
    const sub = user.UserAttributes!.find((a) => a.Name === "sub")!.Value!;
    return {
      username,
      password,
      sub,
      signIn: () => poolASignIn(stack, username, password),
      async setTenant(value: string) {
        const c = poolAAdmin(stack);
        try {
          await c.send(new AdminUpdateUserAttributesCommand({ UserPoolId, Username: username, UserAttributes: [{ Name: "custom:tenant", Value: value }] }));
        } finally {
          c.destroy();
        }
      },
    };
  } finally {
    client.destroy();
  }
}
