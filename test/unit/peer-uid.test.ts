import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { peerUid } from "../../src/cli/s3-broker/peer-uid.mjs";
import { localCredentialsHandler } from "../../src/cli/s3-broker/serve.mjs";

const HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

describe("who is on the other end of a loopback connection (the kernel's socket tables)", () => {
  it("finds the client's own socket (its address as local, ours as remote) and reads its uid, IPv4 and IPv6", () => {
    const tables: Record<string, string> = {
      "/proc/net/tcp": `${HEADER}   0: 0100007F:2697 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   1: 0100007F:C350 0100007F:2697 01 00000000:00000000 00:00000000 00000000 65534        0 2 1\n   2: 0100007F:2697 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1\n`,
      "/proc/net/tcp6": `${HEADER}   0: 00000000000000000000000001000000:C351 00000000000000000000000001000000:2697 01 00000000:00000000 00:00000000 00000000  1000        0 4 1\n`,
    };
    const read = (path: string) => tables[path]!;
    // 127.0.0.1:50000 → 127.0.0.1:9879 is uid 65534's socket (the row whose local end is the client).
    expect(peerUid({ remoteAddress: "127.0.0.1", remotePort: 50000, localAddress: "127.0.0.1", localPort: 9879 }, read)).toBe(65534);
    expect(peerUid({ remoteAddress: "::1", remotePort: 50001, localAddress: "::1", localPort: 9879 }, read)).toBe(1000);
    expect(peerUid({ remoteAddress: "127.0.0.1", remotePort: 50002, localAddress: "127.0.0.1", localPort: 9879 }, read)).toBeUndefined();
    expect(peerUid({ remoteAddress: "127.0.0.1", remotePort: 50000, localAddress: "127.0.0.1", localPort: 9879 }, () => { throw new Error("no /proc"); })).toBeUndefined();
  });
});

describe("s3-broker serve where the system cannot tell who connects", () => {
  const credentials = { accessKeyId: "AKIA", secretAccessKey: "s", sessionToken: "t", expiration: new Date(Date.now() + 3_600_000), obtainedAt: new Date() };
  async function serveWith(options: { imdsWithoutPeerCheck: boolean }) {
    const handler = localCredentialsHandler({ source: { current: async () => credentials } as never, containerToken: "token", roleName: "s3-broker", peers: false, ...options });
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const put = await fetch(`${base}/latest/api/token`, { method: "PUT", headers: { "x-aws-ec2-metadata-token-ttl-seconds": "60" } });
    const container = await fetch(`${base}/credentials`, { headers: { authorization: "token" } });
    server.close();
    return { imds: put.status, imdsText: await put.text(), container: container.status };
  }

  it("keeps IMDS off unless asked (any local user could read it); the token-guarded container endpoint stays on", async () => {
    const off = await serveWith({ imdsWithoutPeerCheck: false });
    expect(off).toMatchObject({ imds: 403, container: 200 });
    expect(off.imdsText).toMatch(/IMDS is off: this system cannot tell which local user connects/);
    expect(await serveWith({ imdsWithoutPeerCheck: true })).toMatchObject({ imds: 200, container: 200 });
  });
});
