/** The Node majors the broker is built and tested for (CI runs the suite on 20, 22 and 24). */
export const SUPPORTED_NODE_MAJORS = [22, 24] as const;

/**
 * On a Node older than the targets, one line instead of the AWS SDK's eight-line warning (which
 * is then turned off: it says the same): the broker still runs there while its dependencies allow.
 * Call before any AWS client is made. Returns the line said, if any.
 */
export function noteOlderNode(say: (line: string) => void, version = process.version): string | undefined {
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (!(major < SUPPORTED_NODE_MAJORS[0])) return undefined;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const line = `Node ${version} is past its end of life: the broker runs on it for now, but targets Node 22 and 24 (AWS SDK releases from January 2027 need 22); see docs/operators.md#node-versions.`;
  say(line);
  return line;
}
