#!/bin/bash
# Submit a Flower app (e.g. flower/fedtune_app) to a SuperLink's Control API, as `flwr run` does.
#
#   flower/start-run.sh [--root-certificates CA.pem] [--wait[=SECONDS]] APP_DIR [key=value ...]
#
# Like the kit's start-run.sh (same overrides, same --wait exit codes: 0 completed, 1 failed or
# stopped, 124 timeout), plus --root-certificates for a SuperLink started with --ssl-* (its Control
# API is then TLS too). Control API at 127.0.0.1:${SUPERLINK_CONTROL_PORT:-9093}.
# Needs FLWR_SRC (a flwr 1.23 source tree) or flwr importable by /usr/bin/python3, and the kit
# (FEDTUNE_FLOWER_KIT, default ../shared/flower next to the repository) for its shims.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kit="${FEDTUNE_FLOWER_KIT:-$here/../../shared/flower}"
if [ ! -f "$kit/lib/env.sh" ]; then
  echo "start-run.sh: no Flower kit at $kit; set FEDTUNE_FLOWER_KIT to the kit folder (../shared/flower)" >&2
  exit 3
fi
source "$kit/lib/env.sh"
exec /usr/bin/python3 -P "$here/start_run.py" --address "127.0.0.1:${SUPERLINK_CONTROL_PORT:-9093}" "$@"
