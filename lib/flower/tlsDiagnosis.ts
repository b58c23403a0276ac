/**
 * What went wrong with a TLS connection, in words a user can act on: a certificate problem (the
 * node does not trust the SuperLink's certificate, or it does not name the address) or a protocol
 * mismatch (TLS against a plain SuperLink, plain text against a TLS one). Such problems do not go
 * away by retrying, so the SuperNode fails fast on them instead of reporting "unreachable".
 */
import * as tls from "tls";
import { hostOf } from "./tlsCredentials";

/** A TLS problem that retrying will not fix. */
export interface TlsProblem {
  readonly kind: "certificate" | "protocol";
  /** One sentence naming the problem and what to do. */
  readonly message: string;
}

const CERTIFICATE_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** OpenSSL's reason text without its location ("…:ssl3_get_record:wrong version number:../ssl3_record.c:350:" → "wrong version number"). */
function reasonOf(error: Error): string {
  const m = /:([^:]+):[^:]*\.c:\d+:?\s*$/.exec(error.message.trim());
  return m ? m[1] : error.message;
}

/** Classify a TLS handshake error for a SuperLink at `address`; undefined for network errors (retry those). */
export function diagnoseTlsError(error: Error, address: string): TlsProblem | undefined {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (CERTIFICATE_CODES.has(code) || /certificate|altnames/i.test(error.message)) {
    return {
      kind: "certificate",
      message:
        `the SuperLink's TLS certificate at ${address} is not accepted: ${error.message} (${code || "certificate error"}). ` +
        `Check --root-certificates: it must be the CA certificate that signed the SuperLink's --ssl-certfile, and that certificate must name ${hostOf(address)} (subjectAltName)`,
    };
  }
  if (code.startsWith("ERR_SSL_") || /wrong version number|packet length too long|unknown protocol/i.test(error.message)) {
    return {
      kind: "protocol",
      message: `the SuperLink at ${address} does not speak TLS (${reasonOf(error)}); it was probably started with --insecure: drop --root-certificates, or start it with --ssl-ca-certfile, --ssl-certfile and --ssl-keyfile`,
    };
  }
  return undefined;
}

/** The hint for a plain-text node whose SuperLink turned out to speak TLS. */
export function plainToTlsProblem(address: string): TlsProblem {
  return {
    kind: "protocol",
    message: `the SuperLink at ${address} speaks TLS but this node connects in plain text: pass --root-certificates <CA certificate> (the CA that signed the SuperLink's --ssl-certfile)`,
  };
}

/** True if a TLS handshake (certificate not checked) with `address` completes within `timeoutMs`. */
export function speaksTls(address: string, timeoutMs = 2000): Promise<boolean> {
  const host = hostOf(address);
  const port = Number(/:(\d+)$/.exec(address)?.[1]);
  return new Promise((resolve) => {
    const s = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ["h2"], servername: undefined });
    const done = (v: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once("secureConnect", () => done(true));
    s.once("error", () => done(false));
  });
}
