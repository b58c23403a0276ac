import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "net";
import { diagnoseTlsError, plainToTlsProblem, speaksTls } from "../../lib/flower/tlsDiagnosis";
import { fleetTlsCredentials, hostOf } from "../../lib/flower/tlsCredentials";

const err = (message: string, code?: string): Error => Object.assign(new Error(message), code ? { code } : {});

test("diagnoseTlsError: certificate problems and protocol mismatches are named; network errors are left to retry", () => {
  const untrusted = diagnoseTlsError(err("self-signed certificate in certificate chain", "SELF_SIGNED_CERT_IN_CHAIN"), "10.0.0.5:9092");
  assert.equal(untrusted?.kind, "certificate");
  assert.match(untrusted?.message ?? "", /self-signed certificate in certificate chain \(SELF_SIGNED_CERT_IN_CHAIN\)/);
  assert.match(untrusted?.message ?? "", /--root-certificates/);
  assert.match(untrusted?.message ?? "", /must name 10\.0\.0\.5/);
  const name = diagnoseTlsError(err("Hostname/IP does not match certificate's altnames: IP: 10.0.0.5 is not in the cert's list: 127.0.0.1", "ERR_TLS_CERT_ALTNAME_INVALID"), "10.0.0.5:9092");
  assert.equal(name?.kind, "certificate");
  assert.equal(diagnoseTlsError(err("certificate has expired", "CERT_HAS_EXPIRED"), "h:1")?.kind, "certificate");
  const plain = diagnoseTlsError(err("807C:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n", "ERR_SSL_WRONG_VERSION_NUMBER"), "h:1");
  assert.equal(plain?.kind, "protocol");
  assert.match(plain?.message ?? "", /does not speak TLS \(wrong version number\); .*--insecure/);
  assert.equal(diagnoseTlsError(err("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED"), "h:1"), undefined);
  assert.equal(diagnoseTlsError(err("read ECONNRESET", "ECONNRESET"), "h:1"), undefined);
  assert.match(plainToTlsProblem("h:1").message, /speaks TLS .* --root-certificates/);
});

test("speaksTls is false for a plain TCP server and a closed port; hostOf strips port and brackets", async () => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on("error", () => undefined);
    s.end("HTTP/1.1 400 Bad Request\r\n\r\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    assert.equal(await speaksTls(`127.0.0.1:${port}`), false);
  } finally {
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => server.close(r));
  }
  assert.equal(await speaksTls(`127.0.0.1:${port}`), false);
  assert.equal(hostOf("[::1]:9092"), "::1");
  assert.equal(hostOf("link.example.org:9092"), "link.example.org");
  assert.throws(() => fleetTlsCredentials(new TextEncoder().encode("not a pem"), "h:1", () => undefined), /no PEM certificate/);
});

test("FleetApiError.unreachable: transport losses (incl. a server cancelling calls as it stops) retry; TLS problems and refusals do not", async () => {
  const grpc = await import("@grpc/grpc-js");
  const { FleetApiError } = await import("../../lib/flower/fleetClient");
  assert.equal(new FleetApiError("PushObject", grpc.status.CANCELLED, "CANCELLED").unreachable, true);
  assert.equal(new FleetApiError("PullMessages", grpc.status.UNAVAILABLE, "x").unreachable, true);
  // grpc-js's words when the SuperLink's process ends mid-call (seen in the integration test's restart).
  const reset = 'Received RST_STREAM with code 2 triggered by internal client error: Session closed with error code 2';
  assert.equal(new FleetApiError("PullMessages", grpc.status.INTERNAL, reset).unreachable, true);
  assert.equal(new FleetApiError("PullMessages", grpc.status.INTERNAL, "Exception calling application").unreachable, false);
  assert.equal(new FleetApiError("RegisterNode", grpc.status.PERMISSION_DENIED, "x").unreachable, false);
  const tls = new FleetApiError("RegisterNode", grpc.status.UNAVAILABLE, "No connection established", plainToTlsProblem("h:1"));
  assert.equal(tls.unreachable, false);
  assert.match(tls.message, /speaks TLS/);
});
