/** Per-request facts the domain needs for audit and logs. */
export interface RequestMeta {
  requestId: string;
  log: RequestLogger;
}

/** The slice of pino's logger the domain uses (Fastify's request logger satisfies it). */
export interface RequestLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
