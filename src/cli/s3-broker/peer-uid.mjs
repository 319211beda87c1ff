// Who is on the other end of a loopback TCP connection: the owning user id of the client's socket,
// from the kernel's socket tables (Linux: /proc/net/tcp and /proc/net/tcp6). `serve` answers its own
// user only; where this cannot be known, it says so and the caller decides.
import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";

/** @param {Buffer} bytes 4 or 16 bytes: the kernel prints each 32-bit word in host (little-endian) order. */
function procHex(bytes) {
  let hex = "";
  for (let i = 0; i < bytes.length; i += 4) hex += bytes.readUInt32LE(i).toString(16).toUpperCase().padStart(8, "0");
  return hex;
}

/** @param {string} address IPv4 dotted quad @returns {Buffer} */
function v4Bytes(address) {
  return Buffer.from(address.split(".").map(Number));
}

/** @param {string} address IPv6 text (with :: and an optional dotted IPv4 tail) @returns {Buffer} */
function v6Bytes(address) {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = v4Bytes(dotted[1] ?? "");
    text = `${text.slice(0, dotted.index)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const groups = (/** @type {string | undefined} */ part) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = Buffer.alloc(16);
  all.forEach((word, i) => bytes.writeUInt16BE(word, i * 2));
  return bytes;
}

/**
 * The /proc encodings of a socket address, in each table it may be listed in: an IPv4 peer of an
 * IPv4 listener is in tcp; of a dual-stack listener, in tcp6 as ::ffff:a.b.c.d.
 * @param {string} address @param {number} port
 */
function encodings(address, port) {
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  const mapped = address.startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : undefined;
  const v4 = isIPv4(address) ? address : mapped;
  return {
    tcp: v4 ? `${procHex(v4Bytes(v4))}:${portHex}` : undefined,
    tcp6: isIPv6(address) || v4 ? `${procHex(v6Bytes(isIPv6(address) ? address : `::ffff:${v4}`))}:${portHex}` : undefined,
  };
}

/**
 * The uid owning the client end of `socket` (a connection accepted by this process), or undefined
 * when the kernel's tables cannot tell (not Linux, /proc not mounted, the connection already gone).
 * @param {{ remoteAddress?: string, remotePort?: number, localAddress?: string, localPort?: number }} socket
 * @param {(path: string) => string} [read]
 * @returns {number | undefined}
 */
export function peerUid(socket, read = (path) => readFileSync(path, "utf8")) {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || remotePort === undefined || !localAddress || localPort === undefined) return undefined;
  const client = encodings(remoteAddress, remotePort);
  const server = encodings(localAddress, localPort);
  for (const table of /** @type {const} */ (["tcp", "tcp6"])) {
    if (!client[table] || !server[table]) continue;
    let text;
    try {
      text = read(`/proc/net/${table}`);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid …: the client's own socket has the
      // client's address as local and ours as remote.
      if (fields[1] === client[table] && fields[2] === server[table]) return Number(fields[7]);
    }
  }
  return undefined;
}

/** Whether this system's socket tables can be read at all (Linux with /proc). */
export function canKnowPeers(read = (/** @type {string} */ path) => readFileSync(path, "utf8")) {
  try {
    read("/proc/net/tcp");
    return true;
  } catch {
    return false;
  }
}
