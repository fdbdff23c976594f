// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import { KeyObject, webcrypto, type webcrypto as WebCrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

/** A certificate authority made at start, and the server certificate it signed for the local hosts. */
export interface LocalTls {
  /** The CA's certificate: what a client trusts (`grpc.credentials.createSsl(Buffer.from(caPem))`). */
  caPem: string;
  certPem: string;
  keyPem: string;
}

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

function pkcs8Pem(key: WebCrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: "pkcs8", format: "pem" }).toString();
}

/** Makes a fresh CA and a certificate for `localhost`, `127.0.0.1`, `::1` and the extra host names. */
export async function createLocalTls(hostNames: string[] = []): Promise<LocalTls> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const subtle = webcrypto.subtle;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 7 * 24 * 3600_000);
  const caKeys = (await subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as WebCrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=gcp-local test CA",
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
  const serverKeys = (await subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as WebCrypto.CryptoKeyPair;
  const dnsNames = ["localhost", ...hostNames.filter((name) => !/^[\d.:]+$/.test(name))];
  const ips = ["127.0.0.1", "::1", ...hostNames.filter((name) => /^[\d.:]+$/.test(name))];
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=localhost",
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...[...new Set(dnsNames)].map((value) => ({ type: "dns" as const, value })),
        ...[...new Set(ips)].map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return { caPem: ca.toString("pem"), certPem: server.toString("pem"), keyPem: pkcs8Pem(serverKeys.privateKey) };
}
