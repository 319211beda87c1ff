/** Calls the credential endpoint the way the SDKs' container provider does: the key verbatim in Authorization. */
export async function fetchCredentials(baseUrl: string, key?: string, init: RequestInit = {}) {
  const response = await fetch(`${baseUrl}/v1/credentials`, {
    ...init,
    headers: { ...(key !== undefined ? { authorization: key } : {}), ...(init.headers as Record<string, string> | undefined) },
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // some answers (HEAD, 431) have no JSON body
  }
  return { status: response.status, body, headers: response.headers };
}

export function baseUrlOf(graphqlUrl: string): string {
  return graphqlUrl.replace(/\/graphql$/, "");
}
