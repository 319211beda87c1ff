import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import Provider from "oidc-provider";

/**
 * A stand-in for Pool A's managed login, which moto does not have: oidc-provider (a certified
 * OpenID Connect implementation, not a mock) serving Cognito's paths (/oauth2/authorize,
 * /oauth2/token, /logout, /.well-known/jwks.json) with PKCE required, and ID tokens carrying the
 * claims Cognito's do (token_use, cognito:username, the tenant attribute). Its sign-in page is
 * oidc-provider's development one: any login name is accepted as the account (the Pool A sub).
 */
export interface ManagedLogin {
  issuer: string;
  /** Every request the provider received, path and query, for assertions on what the console sent. */
  requests: URL[];
  /** Registers the console's address as the app client's callback and sign-out URL, then serves. */
  serve(clientId: string, redirectUri: string, accounts: Record<string, { username: string; tenant: string }>): void;
  close(): Promise<void>;
}

export async function startManagedLogin(): Promise<ManagedLogin> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const requests: URL[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(new URL(req.url ?? "/", "http://local"));
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const key = { ...(await exportJWK(privateKey)), kid: "managed-login-1", alg: "RS256", use: "sig" };

  return {
    issuer,
    requests,
    serve(clientId, redirectUri, accounts) {
      const provider = new Provider(issuer, {
        clients: [{ client_id: clientId, redirect_uris: [redirectUri], post_logout_redirect_uris: [redirectUri], token_endpoint_auth_method: "none", grant_types: ["authorization_code"], response_types: ["code"] }],
        jwks: { keys: [key] },
        routes: { authorization: "/oauth2/authorize", token: "/oauth2/token", jwks: "/.well-known/jwks.json", end_session: "/logout" },
        claims: { openid: ["sub", "token_use", "cognito:username", "custom:tenant"] },
        // Cognito puts these claims in the ID token itself.
        conformIdTokenClaims: false,
        findAccount: (_ctx, id) => ({
          accountId: id,
          claims: () => ({ sub: id, token_use: "id", "cognito:username": accounts[id]?.username ?? id, "custom:tenant": accounts[id]?.tenant ?? "" }),
        }),
        features: { devInteractions: { enabled: true } },
        pkce: { required: () => true },
        cookies: { keys: ["managed-login-test-cookie-key"] },
        // Stated, so the provider does not print a notice for each default.
        ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60 },
        clientBasedCORS: () => true,
      });
      provider.on("server_error", (_ctx, error) => console.error("managed login:", error));
      handler = provider.callback();
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close").catch(() => undefined);
    },
  };
}
