import { CognitoIdentityProviderClient, InitiateAuthCommand } from "@aws-sdk/client-cognito-identity-provider";
import type { StackInfo } from "./bootstrap.js";

/** Signs a demo user in to Pool A the way the application's front end would, and returns the ID token. */
export async function poolAIdToken(stack: StackInfo, username: string, password: string): Promise<string> {
  const client = new CognitoIdentityProviderClient({ region: stack.region, ...(stack.endpoint ? { endpoint: stack.endpoint } : {}) });
  try {
    const response = await client.send(
      new InitiateAuthCommand({
        ClientId: stack.poolA.clientId,
        AuthFlow: "USER_PASSWORD_AUTH",
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    );
    const token = response.AuthenticationResult?.IdToken;
    if (!token) throw new Error(`Pool A did not return an ID token for ${username}`);
    return token;
  } finally {
    client.destroy();
  }
}
