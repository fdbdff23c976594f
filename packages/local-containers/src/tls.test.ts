import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createLocalTls } from "./tls.js";

describe("createLocalTls", () => {
  it("makes a CA and a server certificate it signed, for localhost and the loopback addresses", async () => {
    const tls = await createLocalTls("test-local", ["ferry.test", "10.1.2.3"]);
    const ca = new X509Certificate(tls.caPem);
    const server = new X509Certificate(tls.certPem);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkHost("localhost")).toBe("localhost");
    expect(server.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(server.checkIP("::1")).toBe("::1");
    expect(server.checkHost("ferry.test")).toBe("ferry.test");
    expect(server.checkIP("10.1.2.3")).toBe("10.1.2.3");
    expect(server.subject).toBe("CN=test-local");
    expect(tls.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it("makes a new CA each time", async () => {
    const [a, b] = await Promise.all([createLocalTls("a"), createLocalTls("a")]);
    expect(a.caPem).not.toBe(b.caPem);
  });
});
