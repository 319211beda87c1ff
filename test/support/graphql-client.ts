import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print, type GraphQLFormattedError } from "graphql";

export interface GraphQLResult<TData> {
  status: number;
  data: TData | null | undefined;
  errors: GraphQLFormattedError[] | undefined;
  headers: Headers;
}

/** Sends one typed operation over real HTTP, the way a front end or a partner's script does. */
export async function execute<TData, TVariables>(
  url: string,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  token?: string,
): Promise<GraphQLResult<TData>> {
  return post<TData>(url, { query: print(document), variables }, token ? { authorization: `Bearer ${token}` } : {});
}

/** A raw POST, for documents and headers the typed operations cannot express. */
export async function post<TData = Record<string, unknown>>(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<GraphQLResult<TData>> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: { data?: TData | null; errors?: GraphQLFormattedError[] } = {};
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: leave data and errors empty; callers assert on status
  }
  return { status: response.status, data: json.data, errors: json.errors, headers: response.headers };
}

/** The error codes of a result, for compact assertions. */
export function errorCodes(result: GraphQLResult<unknown>): unknown[] {
  return (result.errors ?? []).map((e) => e.extensions?.code);
}
