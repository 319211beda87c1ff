import {
  type DocumentNode,
  execute,
  type ExecutionResult,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  type Token,
  parse,
  specifiedRules,
  validate,
  type ValidationRule,
  visit,
  BREAK,
} from "graphql";
import { createHash } from "node:crypto";
import { parse as parseContentType } from "content-type";
import { LRUCache } from "lru-cache";
import Negotiator from "negotiator";

/**
 * The hot path for GraphQL requests. Apollo Server's request pipeline (plugins, hashing, header
 * maps, content negotiation) costs more per request than our whole operation, so a plain JSON
 * POST of a document that parses and validates cleanly (once; the result is remembered) is executed
 * here, against the same schema, with the same context, validation rules, error formatting and
 * request ids. Everything else goes to Apollo: any document that failed, GET,
 * introspection, persisted queries, variables that do not coerce, other Accept types, any body that
 * is not declared application/json (Apollo's CSRF prevention rests on that; the check is here
 * rather than left to which body parsers Fastify happens to have). So every refusal of a request or
 * document comes from Apollo, and this path only answers what Apollo would, faster. The parity of
 * the two paths is checked by test/integration/hot-path.test.ts.
 *
 * The documents it remembers are keyed by a hash and bounded in (estimated) bytes, and only an
 * authenticated caller adds one: without a token a request uses what is already remembered or goes
 * to Apollo (whose own document cache is bounded in bytes too).
 */
export interface PreparedOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** The first root field: the operation's label in metrics. */
  rootField: string;
}

export interface PreparedRequest {
  prepared: PreparedOperation;
  variables: Record<string, unknown> | undefined;
  operationName: string | undefined;
  /** The response's content type, as Apollo would negotiate it. */
  contentType: string;
}

/** Apollo's media types for a single result, in its order of preference. */
const JSON_TYPE = "application/json; charset=utf-8";
const GRAPHQL_RESPONSE_TYPE = "application/graphql-response+json; charset=utf-8";
const CALLBACK_TYPE = "application/json; callbackSpec=1.0; charset=utf-8";

/**
 * The content type Apollo would choose for this Accept header (same negotiation, same order), or
 * undefined where the hot path leaves the answer to Apollo (the callback type, or nothing acceptable).
 */
function responseTypeFor(accept: string | undefined): string | undefined {
  if (!accept) return JSON_TYPE;
  const preferred = new Negotiator({ headers: { accept } }).mediaType([JSON_TYPE, GRAPHQL_RESPONSE_TYPE, CALLBACK_TYPE]);
  return preferred === JSON_TYPE || preferred === GRAPHQL_RESPONSE_TYPE ? preferred : undefined;
}

/**
 * What a remembered document holds, estimated: the query text, and its AST, which keeps every token
 * (graphql-js links them for error locations). Measured on graphql 16: 270 to 300 bytes per token
 * with its nodes; 320 leaves a margin.
 */
const BYTES_PER_TOKEN = 320;
function estimatedBytes(query: string, document: DocumentNode | undefined): number {
  let tokens = 0;
  for (let token: Token | null | undefined = document?.loc?.startToken; token; token = token.next) tokens += 1;
  return 2 * query.length + BYTES_PER_TOKEN * tokens + 200;
}

/** Only a body declared as JSON (any charset): Apollo's CSRF prevention treats anything else as a possible simple request. */
function isJsonBody(contentType: string | undefined): boolean {
  if (!contentType) return false;
  try {
    return parseContentType(contentType).type === "application/json";
  } catch {
    return false;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The operation's first root field: its label in metrics, on both paths. */
export function rootFieldOf(operation: OperationDefinitionNode | null | undefined): string {
  const root = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  return root?.kind === Kind.FIELD ? root.name.value : "-";
}

/** Introspection stays with Apollo, which applies the configured introspection policy. */
function usesIntrospection(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value.startsWith("__") && node.name.value !== "__typename") {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

export interface RequestFacts {
  contentType: string | undefined;
  accept: string | undefined;
  /** Whether the caller is authenticated, and so may add a document to the cache. */
  mayRemember: boolean;
}

export class PreparedOperations {
  /**
   * By SHA-256 of operation name and query. `false` remembers a document that must go to Apollo, so
   * it is not parsed twice on every request.
   */
  private readonly documents: LRUCache<string, PreparedOperation | false>;
  private readonly rules: readonly ValidationRule[];

  private readonly maxTokens: number;
  private readonly onCacheChange: ((cached: { bytes: number; documents: number }) => void) | undefined;

  constructor(
    private readonly schema: GraphQLSchema,
    options: { validationRules: readonly ValidationRule[]; maxTokens: number; maxCacheBytes: number; onCacheChange?: (cached: { bytes: number; documents: number }) => void },
  ) {
    this.onCacheChange = options.onCacheChange;
    this.rules = [...specifiedRules, ...options.validationRules];
    this.maxTokens = options.maxTokens;
    const maxSize = options.maxCacheBytes;
    // One document never takes more than an eighth of the cache; a larger one is Apollo's.
    this.documents = new LRUCache({ maxSize, maxEntrySize: Math.floor(maxSize / 8) });
  }

  /** The cache's estimated size in bytes, and how many documents it holds. */
  get cached(): { bytes: number; documents: number } {
    return { bytes: this.documents.calculatedSize, documents: this.documents.size };
  }

  /** Clients send few distinct Accept headers; negotiating each once keeps the hot path cheap. */
  private readonly responseTypes = new LRUCache<string, string | false>({ max: 100 });

  private responseType(accept: string | undefined): string | undefined {
    if (accept === undefined) return JSON_TYPE;
    let type = this.responseTypes.get(accept);
    if (type === undefined) {
      type = responseTypeFor(accept) ?? false;
      this.responseTypes.set(accept, type);
    }
    return type || undefined;
  }

  /** The request, if the hot path can answer it exactly as Apollo would; otherwise undefined. */
  match(body: unknown, request: RequestFacts): PreparedRequest | undefined {
    if (!isJsonBody(request.contentType)) return undefined;
    const contentType = this.responseType(request.accept);
    if (!contentType) return undefined;
    if (!isRecord(body) || typeof body.query !== "string") return undefined;
    const { query, variables, operationName, extensions } = body;
    if (extensions !== undefined && extensions !== null) return undefined;
    if (variables !== undefined && variables !== null && !isRecord(variables)) return undefined;
    if (operationName !== undefined && operationName !== null && typeof operationName !== "string") return undefined;
    const name = operationName ?? undefined;
    const key = createHash("sha256").update(name ?? "").update("\n").update(query).digest("base64");
    let prepared = this.documents.get(key);
    if (prepared === undefined) {
      if (!request.mayRemember) return undefined;
      const document = this.prepare(query, name);
      prepared = document ?? false;
      this.documents.set(key, prepared, { size: document ? estimatedBytes(query, document.document) : 100 });
      this.onCacheChange?.(this.cached);
    }
    if (!prepared) return undefined;
    // Variables that do not coerce are a 400 from Apollo, with its wording.
    if (prepared.operation.variableDefinitions?.length || variables) {
      const coerced = getVariableValues(this.schema, prepared.operation.variableDefinitions ?? [], variables ?? {}, { maxErrors: 1 });
      if (coerced.errors) return undefined;
    }
    return { prepared, variables: variables ?? undefined, operationName: name, contentType };
  }

  private prepare(query: string, operationName: string | undefined): PreparedOperation | undefined {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: this.maxTokens });
    } catch {
      return undefined;
    }
    if (validate(this.schema, document, this.rules).length > 0) return undefined;
    const operation = getOperationAST(document, operationName);
    if (!operation || operation.operation === "subscription" || usesIntrospection(document)) return undefined;
    return { document, operation, rootField: rootFieldOf(operation) };
  }

  /** Runs a matched request; never throws (an execution failure is an answer, as in Apollo). */
  async execute(request: PreparedRequest, contextValue: unknown): Promise<ExecutionResult & { thrown?: boolean }> {
    try {
      return await execute({
        schema: this.schema,
        document: request.prepared.document,
        operationName: request.operationName,
        variableValues: request.variables,
        contextValue,
      });
    } catch (error) {
      return { errors: [error instanceof GraphQLError ? error : new GraphQLError(error instanceof Error ? error.message : String(error), { originalError: error instanceof Error ? error : undefined })], thrown: true };
    }
  }
}

/**
 * Apollo's error normalisation, for the hot path: a code on every error, the configured formatter
 * (and a generic error if the formatter itself fails), status and headers from `extensions.http`.
 */
export function formatExecutionErrors(
  errors: readonly GraphQLError[],
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError,
): { formatted: GraphQLFormattedError[]; status?: number; headers: Array<[string, string]> } {
  let status: number | undefined;
  const headers: Array<[string, string]> = [];
  const formatted = errors.map((error) => {
    // Defensive: an error built elsewhere may carry no extensions at all.
    const extensions: Record<string, unknown> = { ...error.extensions, code: error.extensions?.code ?? "INTERNAL_SERVER_ERROR" };
    const http = extensions.http as { status?: unknown; headers?: unknown } | undefined;
    if (http && typeof http === "object") {
      if (typeof http.status === "number") status = http.status;
      if (http.headers instanceof Map) for (const [name, value] of http.headers) headers.push([String(name), String(value)]);
      delete extensions.http;
    }
    try {
      return formatError({ ...error.toJSON(), extensions }, error);
    } catch {
      return { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
    }
  });
  return { formatted, ...(status !== undefined ? { status } : {}), headers };
}
