/**
 * TLS channel credentials for the Fleet API that (a) send no SNI server name when the SuperLink is
 * addressed by IP (RFC 6066 forbids it; Node warns DEP0123 otherwise) while still checking the
 * certificate against that IP, and (b) report the handshake's own error (an untrusted CA, a name
 * the certificate does not cover, a plain-text peer) to the caller, which gRPC would otherwise
 * flatten into "UNAVAILABLE: No connection established".
 */
import * as grpc from "@grpc/grpc-js";
import type { SecureConnector, SecureConnectResult } from "@grpc/grpc-js/build/src/channel-credentials";
import * as net from "net";
import * as tls from "tls";

/** Called with every failed TLS handshake (`undefined` after a successful one). */
export type TlsErrorListener = (error: Error | undefined) => void;

/** The host part of "host:port" or "[v6]:port". */
export function hostOf(address: string): string {
  return address.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
}

class FleetTlsCredentials extends grpc.ChannelCredentials {
  private readonly context: tls.SecureContext;

  constructor(
    private readonly rootCertificates: Uint8Array,
    private readonly host: string,
    private readonly onTlsError: TlsErrorListener,
  ) {
    super();
    this.context = tls.createSecureContext({ ca: Buffer.from(rootCertificates) });
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(): SecureConnector {
    const { context, host, onTlsError } = this;
    return {
      connect(socket: net.Socket): Promise<SecureConnectResult> {
        return new Promise((resolve, reject) => {
          const fail = (e: Error): void => {
            onTlsError(e);
            reject(e);
          };
          // No servername for an IP: Node then checks the certificate against `host` (the IP).
          const s: tls.TLSSocket = tls.connect({ socket, secureContext: context, host, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ["h2"] }, () => {
            if (!s.authorized) return fail(s.authorizationError ?? new Error("the server's certificate is not trusted"));
            onTlsError(undefined);
            resolve({ socket: s, secure: true });
          });
          s.on("error", fail);
        });
      },
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => grpc.credentials.createEmpty(),
      destroy: () => undefined,
    };
  }
}

/** TLS credentials trusting `rootCertificates` (PEM) for a SuperLink at `address`. */
export function fleetTlsCredentials(rootCertificates: Uint8Array, address: string, onTlsError: TlsErrorListener): grpc.ChannelCredentials {
  if (!/-----BEGIN CERTIFICATE-----/.test(Buffer.from(rootCertificates).toString("latin1"))) {
    throw new Error("root certificates: no PEM certificate found (expected a file with -----BEGIN CERTIFICATE-----)");
  }
  return new FleetTlsCredentials(rootCertificates, hostOf(address), onTlsError);
}
