"""Submit a Flower app to a SuperLink's Control API (what `flwr run` does), over TLS too.

A copy of the test kit's lib/start_run.py (../shared/flower, Apache-2.0) with one addition:
--root-certificates CA.pem opens a TLS channel (a SuperLink started with --ssl-* serves its
Control API over TLS, which the kit's copy cannot reach). Run it with the kit's environment:
`bash -c 'kit=../shared/flower; source $kit/lib/env.sh; exec /usr/bin/python3 -P flower/start_run.py ...'`,
or through `scripts/flower/kit.ts`. Debian's typer 0.7 cannot drive the
`flwr` CLI, so this calls the same flwr functions `flwr run` calls: build the FAB
from the app folder, then Control.StartRun with the run-config overrides.
Prints the run id on stdout. With --wait, polls Control.ListRuns until the run has
finished and exits 0 only if it finished as "completed".
"""

import argparse
import hashlib
import sys
import time
from pathlib import Path

import grpc
import tomli

from flwr.cli.build import build_fab_from_disk
from flwr.common.config import flatten_dict
from flwr.common.record import ConfigRecord
from flwr.common.serde import config_record_to_proto, fab_to_proto, user_config_to_proto
from flwr.common.typing import Fab
from flwr.proto.control_pb2 import ListRunsRequest, StartRunRequest  # pylint: disable=E0611
from flwr.proto.control_pb2_grpc import ControlStub


def fail(message: str, code: int = 2) -> None:
    """Print `start-run: message` on stderr and exit."""
    print(f"start-run: {message}", file=sys.stderr)
    sys.exit(code)


def parse_overrides(pairs: list[str], defaults: dict) -> dict:
    """Turn `key=value` strings into typed run-config overrides.

    A value is read as a TOML value when it is one (2, 0.05, true, "text");
    anything else (e.g. /tmp/a.npz) is taken as a plain string.
    """
    overrides = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            fail(f"run-config override must look like key=value, got {pair!r}")
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "(none)"
            fail(f"run-config key {key!r} is not declared by the app (it declares: {known})")
        try:
            value = tomli.loads(f"v = {raw}")["v"]
        except tomli.TOMLDecodeError:
            value = raw
        if not isinstance(value, (bool, int, float, str)):
            fail(f"run-config value for {key!r} must be a bool, int, float or string, got {raw!r}")
        overrides[key] = value
    return overrides


def wait_for_run(stub: ControlStub, run_id: int, timeout: float) -> int:
    """Poll until the run finishes; return the exit code."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        res = stub.ListRuns(ListRunsRequest(run_id=run_id), timeout=10)
        run = res.run_dict.get(run_id)
        if run is not None:
            status = run.status.status + (f":{run.status.sub_status}" if run.status.sub_status else "")
            if status != last:
                print(f"start-run: run {run_id} {status}", file=sys.stderr)
                last = status
            if run.status.status == "finished":
                if run.status.sub_status == "completed":
                    return 0
                if run.status.details:
                    print(f"start-run: {run.status.details}", file=sys.stderr)
                return 1
        time.sleep(1)
    print(f"start-run: run {run_id} not finished after {timeout:g}s", file=sys.stderr)
    return 124


def main() -> None:
    """Parse arguments, start the run, optionally wait for it."""
    parser = argparse.ArgumentParser(prog="start-run.sh", description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="Control API host:port")
    parser.add_argument("--wait", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--root-certificates", type=Path, default=None, metavar="CA_PEM",
                        help="PEM CA certificate: connect with TLS (SuperLink started with --ssl-*)")
    parser.add_argument("app_dir", type=Path)
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args()

    app = args.app_dir.resolve()
    pyproject = app / "pyproject.toml"
    if not pyproject.is_file():
        fail(f"{pyproject} not found: APP_DIR must be a Flower app folder")
    config = tomli.loads(pyproject.read_text(encoding="utf-8"))
    defaults = flatten_dict(config.get("tool", {}).get("flwr", {}).get("app", {}).get("config", {}))
    overrides = parse_overrides(args.overrides, defaults)

    fab_bytes = build_fab_from_disk(app)
    fab = Fab(hashlib.sha256(fab_bytes).hexdigest(), fab_bytes, {})
    request = StartRunRequest(
        fab=fab_to_proto(fab),
        override_config=user_config_to_proto(overrides),
        federation_options=config_record_to_proto(ConfigRecord({})),
    )
    if args.root_certificates is not None:
        try:
            root = args.root_certificates.read_bytes()
        except OSError as err:
            fail(f"cannot read --root-certificates {args.root_certificates}: {err}")
        channel = grpc.secure_channel(args.address, grpc.ssl_channel_credentials(root))
    else:
        channel = grpc.insecure_channel(args.address)
    with channel:
        stub = ControlStub(channel)
        try:
            res = stub.StartRun(request, timeout=30)
        except grpc.RpcError as err:
            fail(f"StartRun on {args.address} failed: {err.code().name} {err.details()}", 1)
        if not res.HasField("run_id"):
            fail("the SuperLink did not start the run (see its log)", 1)
        print(res.run_id, flush=True)
        if args.wait is not None:
            sys.exit(wait_for_run(stub, res.run_id, args.wait))


if __name__ == "__main__":
    main()
