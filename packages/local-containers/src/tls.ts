// @peculiar/x509 resolves its ASN.1 services through tsyringe, which needs the Reflect metadata API loaded first.
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[1]);
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/**
 * A certificate authority made at start and the server's certificate it signed (127.0.0.1, ::1, localhost and
 * any extra host): what the local endpoints that speak HTTPS or gRPC over TLS (a cloud's, Kubernetes') serve with.
 */
export interface LocalTls {
  /** Trust this (an https.Agent's `ca`, or `NODE_EXTRA_CA_CERTS` for a child process). */
  caPem: string;
  certPem: string;
  keyPem: string;
}

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive
  return bytes.toString("hex");
}

function pem(label: string, der: ArrayBuffer): string {
  const base64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${base64.replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

const LOOPBACK = ["localhost", "127.0.0.1", "::1"];

/** Generates a fresh CA and a server certificate for the loopback names and `extraHosts`; `name` goes in their subjects. */
export async function createLocalTls(name: string, extraHosts: readonly string[] = []): Promise<LocalTls> {
  const hosts = [...new Set([...LOOPBACK, ...extraHosts])];
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  const subtle = webcrypto.subtle;
  const caKeys = (await subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name} test CA ${serial().slice(0, 8)}`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = (await subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
  const names = hosts.map((host) => (/^[\d.]+$|:/.test(host) ? { type: "ip" as const, value: host } : { type: "dns" as const, value: host }));
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${name}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const key = await subtle.exportKey("pkcs8", serverKeys.privateKey);
  return { caPem: ca.toString("pem") + "\n", certPem: server.toString("pem") + "\n", keyPem: pem("PRIVATE KEY", key) };
}
