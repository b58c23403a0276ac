#!/usr/bin/env bash
# Rebuilds the wasm modules of this folder from their C sources, byte for byte:
#   fedtune_kernels.c → fedtune_kernels.wasm   (tfjs-backend-wasm kernels, lib/kernels/wasmHeap.ts)
#   weighted_sum.c    → weighted_sum.wasm      (FedAvg's exact weighted sum, lib/kernels/weightedSum.ts)
#   weighted_sum.c    → weighted_sum_shared.wasm (the same, importing a shared memory: the update arena, lib/kernels/updateArena.ts)
#
# Toolchain (pinned): Debian bookworm's clang 14.0.6 and wasm-ld 14 (apt-get install clang-14 lld-14), plus wabt's
# wasm-objdump for the safety checks. Another clang major version may emit different (equally valid) code; the
# committed .wasm files are what the tests check against, so rebuild only with this version.
#   lib/kernels/wasm/build.sh            rebuild in place
#   lib/kernels/wasm/build.sh --check    build to temporary files and compare with the committed ones (exit 1 if not identical)
set -euo pipefail
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-14}
WASM_LD=${WASM_LD:-wasm-ld-14}
want="14.0.6"
got=$("$CLANG" --version | sed -n 's/.*clang version \([0-9.]*\).*/\1/p' | head -1)
if [ "$got" != "$want" ]; then
  echo "build.sh: needs clang $want (found '$got' from $CLANG)" >&2
  exit 2
fi
obj=$(mktemp --suffix=.o)
tmp=$(mktemp --suffix=.wasm)
trap 'rm -f "$obj" "$tmp"' EXIT
status=0
# target:source; a _shared target imports a shared memory (threads' atomics feature; any maximum up to 4 GiB).
for target in fedtune_kernels:fedtune_kernels weighted_sum:weighted_sum weighted_sum_shared:weighted_sum; do
  name=${target%%:*}
  source=${target#*:}
  committed=$name.wasm
  out=$committed
  [ "${1:-}" = "--check" ] && out=$tmp
  cflags=() ldflags=()
  case $name in *_shared) cflags=(-matomics) ldflags=(--shared-memory --max-memory=4294967296) ;; esac
  "$CLANG" --target=wasm32-unknown-unknown -O3 -msimd128 -mbulk-memory "${cflags[@]}" -ffreestanding -ffp-contract=off -fno-builtin-malloc -nostdlib \
    -ffile-prefix-map="$PWD"=. -c $source.c -o "$obj"
  "$WASM_LD" --no-entry --import-memory "${ldflags[@]}" --strip-all --stack-first -z stack-size=0 \
    "$obj" -o "$out"
  # The modules share a heap with other code: they must not carry data to write there, nor use a stack in it.
  if command -v wasm-objdump >/dev/null; then
    if wasm-objdump -h "$out" | grep -q ' Data '; then echo "build.sh: $committed has a data section" >&2; exit 1; fi
    if wasm-objdump -d "$out" | grep -q 'global\.set'; then echo "build.sh: $committed writes a global (stack pointer?)" >&2; exit 1; fi
  fi
  if [ "${1:-}" = "--check" ]; then
    if cmp -s "$out" "$committed"; then
      echo "build.sh: $committed matches its source"
    else
      echo "build.sh: $committed differs from a fresh build of $source.c (rebuild with build.sh)" >&2
      status=1
    fi
  else
    echo "build.sh: wrote $out ($(stat -c %s "$out") bytes, sha256 $(sha256sum "$out" | cut -c1-16)…)"
  fi
done
exit $status
