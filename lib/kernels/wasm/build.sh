#!/usr/bin/env bash
# Rebuilds the wasm modules of this folder from their C sources, byte for byte:
#   fedtune_kernels.c → fedtune_kernels.wasm   (tfjs-backend-wasm kernels, lib/kernels/wasmHeap.ts)
#   weighted_sum.c    → weighted_sum.wasm      (FedAvg's exact weighted sum, lib/kernels/weightedSum.ts)
#   weighted_sum.c    → weighted_sum_shared.wasm (the same, importing a shared memory: the update arena, lib/kernels/updateArena.ts)
#   ../native/fedtune_native.c → ../native/fedtune_native.node (x86-64 Linux Node-API addon: the matrix products on
#                                AVX-512/AVX2, bit-identical to the wasm ones; lib/kernels/native.ts)
#
# Toolchain (pinned): Debian bookworm's clang 14.0.6, wasm-ld 14 and ld.lld 14 (apt-get install clang-14 lld-14), plus
# wabt's wasm-objdump for the safety checks; the addon's Node-API declarations come from the node-api-headers package
# (a devDependency, so `npm ci` first). Another clang major version may emit different (equally valid) code; the
# committed .wasm files are what the tests check against, so rebuild only with this version.
#   lib/kernels/wasm/build.sh            rebuild in place
#   lib/kernels/wasm/build.sh --check    build to temporary files and compare with the committed ones (exit 1 if not identical)
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-}
CLANG=${CLANG:-clang-14}
WASM_LD=${WASM_LD:-wasm-ld-14}
LD_LLD=${LD_LLD:-ld.lld-14}
NAPI_INCLUDE=${NAPI_INCLUDE:-../../../node_modules/node-api-headers/include}
want="14.0.6"
got=$("$CLANG" --version | sed -n 's/.*clang version \([0-9.]*\).*/\1/p' | head -1)
if [ "$got" != "$want" ]; then
  echo "build.sh: needs clang $want (found '$got' from $CLANG)" >&2
  exit 2
fi
obj=$(mktemp --suffix=.o)
tmp=$(mktemp --suffix=.wasm)
tmpnode=$(mktemp --suffix=.node)
trap 'rm -f "$obj" "$tmp" "$tmpnode"' EXIT
status=0
# report <built> <committed> <source>: with --check, compare the fresh build with the committed file; else say what was written.
report() {
  if [ "$mode" = "--check" ]; then
    if cmp -s "$1" "$2"; then
      echo "build.sh: $2 matches its source"
    else
      echo "build.sh: $2 differs from a fresh build of $3 (rebuild with build.sh)" >&2
      status=1
    fi
  else
    echo "build.sh: wrote $1 ($(stat -c %s "$1") bytes, sha256 $(sha256sum "$1" | cut -c1-16)…)"
  fi
}
# target:source; a _shared target imports a shared memory (threads' atomics feature; any maximum up to 4 GiB).
for target in fedtune_kernels:fedtune_kernels weighted_sum:weighted_sum weighted_sum_shared:weighted_sum; do
  name=${target%%:*}
  source=${target#*:}
  committed=$name.wasm
  out=$committed
  [ "$mode" = "--check" ] && out=$tmp
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
  report "$out" "$committed" "$source.c"
done

# The native addon: a shared object with no libc (its only undefined symbols are Node-API's, which Node resolves at
# load), no build id (it would differ per build), and no fused multiply-add (-ffp-contract=off; the kernels use
# separate mul and add intrinsics): the same sums, bit for bit, as the wasm matmul.
if [ ! -f "$NAPI_INCLUDE/node_api.h" ]; then
  echo "build.sh: $NAPI_INCLUDE/node_api.h not found (run npm ci: node-api-headers is a devDependency)" >&2
  exit 2
fi
committed=../native/fedtune_native.node
out=$committed
[ "$mode" = "--check" ] && out=$tmpnode
(cd ../native && "$CLANG" --target=x86_64-pc-linux-gnu -O3 -fPIC -shared -nostdlib -ffreestanding -ffp-contract=off \
  -fno-ident -fuse-ld=lld --ld-path="$(command -v "$LD_LLD")" -Wl,--build-id=none -Wl,-s -I"../wasm/$NAPI_INCLUDE" \
  -ffile-prefix-map="$PWD"=. fedtune_native.c -o "$(cd "$(dirname "$out")" && pwd)/$(basename "$out")")
if nm -D --undefined-only "$out" | grep -v ' U napi_' | grep -q ' U '; then
  echo "build.sh: $committed needs symbols other than Node-API's: $(nm -D --undefined-only "$out" | grep -v ' U napi_' | tr '\n' ' ')" >&2
  exit 1
fi
if objdump -d "$out" | grep -q 'vfmadd\|vfmsub\|vfnmadd'; then echo "build.sh: $committed contains fused multiply-adds" >&2; exit 1; fi
report "$out" "$committed" fedtune_native.c
exit $status
