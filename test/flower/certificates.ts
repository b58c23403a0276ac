/**
 * Test certificates made with `openssl` (as the README tells users to): a CA, a server
 * certificate for 127.0.0.1/localhost signed by it, and an unrelated CA the SuperLink never used.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** Paths of the PEM files made by `makeTestCertificates`. */
export interface TestCertificates {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** A CA that did not sign the server certificate. */
  readonly otherCaCert: string;
}

/** Make the certificates in `dir` with openssl (RSA 2048, valid 2 days). */
export function makeTestCertificates(dir: string): TestCertificates {
  fs.mkdirSync(dir, { recursive: true });
  const at = (f: string): string => path.join(dir, f);
  const openssl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("ca.key"), "-out", at("ca.pem"), "-days", "2", "-subj", "/CN=fedtune test CA");
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", at("server.key"), "-out", at("server.csr"), "-subj", "/CN=localhost");
  fs.writeFileSync(at("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl("x509", "-req", "-in", at("server.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-out", at("server.pem"), "-days", "2", "-extfile", at("server.ext"));
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("other-ca.key"), "-out", at("other-ca.pem"), "-days", "2", "-subj", "/CN=another CA");
  return { caCert: at("ca.pem"), serverCert: at("server.pem"), serverKey: at("server.key"), otherCaCert: at("other-ca.pem") };
}
