#!/usr/bin/env bash
# Rebuilds lib/kernels/wasm/fedtune_kernels.wasm from fedtune_kernels.c, byte for byte.
#
# Toolchain (pinned): Debian bookworm's clang 14.0.6 and wasm-ld 14 (apt-get install clang-14 lld-14), plus wabt's
# wasm-objdump for the safety checks. Another clang major version may emit different (equally valid) code; the
# committed .wasm is what the tests check against, so rebuild only with this version.
#   lib/kernels/wasm/build.sh            rebuild in place
#   lib/kernels/wasm/build.sh --check    build to a temporary file and compare with the committed one (exit 1 if not identical)
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
out=fedtune_kernels.wasm
[ "${1:-}" = "--check" ] && out=$(mktemp --suffix=.wasm)
obj=$(mktemp --suffix=.o)
trap 'rm -f "$obj"' EXIT
"$CLANG" --target=wasm32-unknown-unknown -O3 -msimd128 -mbulk-memory -ffreestanding -fno-builtin-malloc -nostdlib \
  -ffile-prefix-map="$PWD"=. -c fedtune_kernels.c -o "$obj"
"$WASM_LD" --no-entry --import-memory --strip-all --stack-first -z stack-size=0 \
  "$obj" -o "$out"
# The module shares the backend's heap: it must not carry data to write there, nor use a stack in it.
if command -v wasm-objdump >/dev/null; then
  if wasm-objdump -h "$out" | grep -q ' Data '; then echo "build.sh: $out has a data section" >&2; exit 1; fi
  if wasm-objdump -d "$out" | grep -q 'global\.set'; then echo "build.sh: $out writes a global (stack pointer?)" >&2; exit 1; fi
fi
if [ "${1:-}" = "--check" ]; then
  if cmp -s "$out" fedtune_kernels.wasm; then echo "build.sh: fedtune_kernels.wasm matches its source"; rm -f "$out"; exit 0; fi
  echo "build.sh: fedtune_kernels.wasm differs from a fresh build of fedtune_kernels.c (rebuild with build.sh)" >&2
  rm -f "$out"
  exit 1
fi
echo "build.sh: wrote $out ($(stat -c %s "$out") bytes, sha256 $(sha256sum "$out" | cut -c1-16)…)"
