import { CognitoIdentityProviderClient, InitiateAuthCommand } from "@aws-sdk/client-cognito-identity-provider";
import type { StackInfo } from "./bootstrap.js";

/** Signs a user in to Pool A the way the application's front end would, and returns the ID token. */
export async function poolAIdToken(stack: StackInfo, username: string, password: string): Promise<string> {
  return (await poolASignIn(stack, username, password)).idToken;
}

/** The same sign-in, with the access token too (what a user changing their own attributes holds). */
export async function poolASignIn(stack: StackInfo, username: string, password: string): Promise<{ idToken: string; accessToken: string }> {
  const client = new CognitoIdentityProviderClient({ region: stack.region, ...(stack.endpoint ? { endpoint: stack.endpoint } : {}) });
  try {
    const response = await client.send(
      new InitiateAuthCommand({
        ClientId: stack.poolA.clientId,
        AuthFlow: "USER_PASSWORD_AUTH",
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    );
    const idToken = response.AuthenticationResult?.IdToken;
    const accessToken = response.AuthenticationResult?.AccessToken;
    if (!idToken || !accessToken) throw new Error(`Pool A did not return tokens for ${username}`);
    return { idToken, accessToken };
  } finally {
    client.destroy();
  }
}
