#!/usr/bin/env python3
"""Generate test/fixtures/quant-vectors.json: oracle vectors for our GGUF (de)quantizers that do
not come from our own code. CI never runs this script; it only reads the committed fixture.

Oracles
  * gguf-py (llama.cpp's Python package `gguf`, numpy): dequantization of Q4_0, Q4_1, Q5_0, Q5_1,
    Q8_0, Q4_K, Q6_K (random raw blocks with finite f16 scales, plus zero / subnormal / ±65504
    scale blocks), and quantization where gguf-py implements it (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
    plus F16 via numpy and BF16).
  * ggml's own C (optional, --ggml-src): quantize_row_*_ref from a llama.cpp checkout's
    ggml/src/ggml-quants.c, compiled here with `cc -O2 -ffp-contract=off` (no FMA contraction) and
    called through ctypes. This is the only oracle for Q4_K / Q6_K quantization (gguf-py has none)
    and cross-checks gguf-py on the legacy types.
  * Real-file digests (optional, --models): sha256 of gguf-py's float32 dequantization of some
    tensors/rows of models/SmolLM2-135M-Instruct.Q4_1.gguf (Q8_0, Q4_1, F32 tensors).

Regenerate (deterministic for a given seed, gguf-py and llama.cpp version):
    python3 -m pip install gguf==0.19.0 numpy
    git clone https://github.com/ggml-org/llama.cpp /tmp/llamacpp   # any recent checkout
    python3 scripts/make-quant-vectors.py --ggml-src /tmp/llamacpp --models models \
        --out test/fixtures/quant-vectors.json
Then run `node scripts/run-tests.mjs quants` and commit the fixture.
"""
import argparse
import base64
import ctypes
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

QUANT_TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q6_K"]
# Byte offsets of the f16 scale fields inside one block, per type.
SCALE_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q4_K": [0, 2], "Q6_K": [208],
}
# Quantizers gguf-py implements (F16 goes through numpy's astype, as gguf-py does).
GGUF_PY_QUANTIZE = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]
C_QUANTIZE = {"Q4_0": "q4_0", "Q4_1": "q4_1", "Q5_0": "q5_0", "Q5_1": "q5_1", "Q8_0": "q8_0",
              "Q4_K": "q4_K", "Q6_K": "q6_K"}


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def random_half(rng: np.random.Generator, n: int) -> np.ndarray:
    """Finite f16 values, magnitude log-uniform in [1e-3, 1], random sign."""
    mag = np.exp(rng.uniform(np.log(1e-3), 0.0, n)).astype(np.float16)
    return np.where(rng.random(n) < 0.5, -mag, mag).astype(np.float16)


def dequant_vectors(rng: np.random.Generator) -> list:
    out = []
    special = [0x0000, 0x8000, 0x0001, 0x83FF, 0x7BFF, 0xFBFF]  # ±0, subnormals, ±65504
    for name in QUANT_TYPES:
        qt = T[name]
        block, size = gguf.GGML_QUANT_SIZES[qt]
        nb = 16 if block == 32 else 6
        raw = rng.integers(0, 256, size=(nb, size), dtype=np.uint8)
        for off in SCALE_FIELDS[name]:
            h = random_half(rng, nb).view(np.uint16)
            h[: len(special)] = special[: nb]
            if off != SCALE_FIELDS[name][0]:
                h[: len(special)] = np.roll(special, 1)[: nb]  # pair different specials
            raw[:, off:off + 2] = h.reshape(nb, 1).view(np.uint8).reshape(nb, 2)
        values = dequantize(raw.reshape(-1), qt).astype(np.float32)
        assert np.all(np.isfinite(values)), name
        out.append({"type": name, "n": nb * block, "bytes": b64(raw), "values": b64(values)})
    return out


def quant_inputs(rng: np.random.Generator, block: int, nb_random: int) -> np.ndarray:
    """Blocks of float32: random scales and shapes plus the edge cases the ref code branches on."""
    blocks = []
    for _ in range(nb_random):
        scale = float(np.exp(rng.uniform(np.log(1e-4), np.log(1e2))))
        kind = rng.integers(0, 3)
        if kind == 0:
            b = rng.standard_normal(block) * scale
        elif kind == 1:
            b = rng.uniform(-scale, scale, block) + (scale if rng.random() < 0.5 else 0.0)
        else:
            b = rng.standard_t(3, block) * scale
        blocks.append(b)
    z = np.zeros(block)
    blocks += [
        z,                                                  # all zero
        z + 0.75,                                           # constant positive (max == min)
        z - 2.5,                                            # constant negative
        np.where(np.arange(block) == 5, 40.0, rng.standard_normal(block) * 0.01),  # one outlier
        np.where(np.arange(block) % 3 == 0, 0.0, rng.standard_normal(block)),      # sparse
        rng.standard_normal(block) * 1e-8,                  # scales underflow f16
        rng.uniform(0.5, 1.5, block),                       # all positive (min > 0 path)
        np.round(rng.uniform(-8, 8, block)) / 2,            # exact .5 grid: rounding ties
        rng.standard_normal(block) * 3e3,                   # large
        rng.standard_normal(block) * 1e-20,                 # below GROUP_MAX_EPS
    ]
    return np.concatenate(blocks).astype(np.float32)


def float_edge_values() -> np.ndarray:
    return np.array([0.0, -0.0, 1.0, -1.0, 65504.0, 65519.0, 65520.0, -70000.0, 6e-8, 3e-8, 2.9e-8,
                     1e-40, 1.0009765625, 1.00048828125, 1.00146484375, 3.0078125, 3.01171875,
                     np.inf, -np.inf, np.nan, 1e38, -3.4028235e38], dtype=np.float32)


def gguf_py_quantize_vectors(rng: np.random.Generator) -> list:
    out = []
    for name in GGUF_PY_QUANTIZE:
        if name in ("F16", "BF16"):
            x = np.concatenate([rng.standard_normal(480).astype(np.float32) * 10.0 ** rng.integers(-6, 5, 480),
                                float_edge_values(), rng.standard_normal(10).astype(np.float32)]).astype(np.float32)
            with np.errstate(over="ignore", invalid="ignore"):
                q = x.astype(np.float16).view(np.uint8) if name == "F16" else quantize(x, T.BF16).view(np.uint8)
        else:
            x = quant_inputs(rng, 32, 24)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                q = quantize(x, T[name]).view(np.uint8)
        out.append({"type": name, "oracle": f"gguf-py {gguf_version()}", "input": b64(x), "bytes": b64(q)})
    return out


def build_ggml(src: str, work: str) -> ctypes.CDLL:
    g = os.path.join(src, "ggml")
    stubs = os.path.join(work, "stubs.c")
    with open(stubs, "w") as f:
        f.write(
            "#include <stdio.h>\n#include <stdlib.h>\n#include <stdint.h>\n#include <stddef.h>\n"
            "void ggml_abort(const char* f, int l, const char* m, ...) { fprintf(stderr, \"%s:%d %s\\n\", f, l, m); abort(); }\n"
            "size_t ggml_row_size(int t, int64_t n) { (void)t; (void)n; abort(); }\n"
            "size_t ggml_type_size(int t) { (void)t; abort(); }\n"
            "const char* ggml_type_name(int t) { (void)t; return \"?\"; }\n")
    lib = os.path.join(work, "libggmlq.so")
    cmd = ["cc", "-O2", "-ffp-contract=off", "-fPIC", "-shared", "-std=gnu11",
           f"-I{g}/include", f"-I{g}/src", os.path.join(g, "src", "ggml-quants.c"), stubs, "-lm", "-o", lib]
    subprocess.run(cmd, check=True)
    return ctypes.CDLL(lib)


def c_quantize_vectors(rng: np.random.Generator, lib: ctypes.CDLL, commit: str) -> list:
    out = []
    for name, fn in C_QUANTIZE.items():
        qt = T[name]
        block, size = gguf.GGML_QUANT_SIZES[qt]
        if block == 256:
            x = np.concatenate([quant_inputs(rng, 256, 6)]).astype(np.float32)
        else:
            x = quant_inputs(rng, 32, 24)
        y = np.zeros(len(x) // block * size, dtype=np.uint8)
        f = getattr(lib, f"quantize_row_{fn}_ref")
        f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        f(x.ctypes.data, y.ctypes.data, len(x))
        out.append({"type": name, "oracle": f"ggml quantize_row_{fn}_ref (llama.cpp {commit}, cc -O2 -ffp-contract=off)",
                    "input": b64(x), "bytes": b64(y)})
        if name in GGUF_PY_QUANTIZE:  # the two oracles must agree before either is trusted
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                assert np.array_equal(quantize(x, qt).view(np.uint8).reshape(-1), y), f"gguf-py and ggml disagree on {name}"
    return out


def real_file_digests(models: str) -> list:
    path = os.path.join(models, "SmolLM2-135M-Instruct.Q4_1.gguf")
    r = gguf.GGUFReader(path)
    by_name = {t.name: t for t in r.tensors}
    picks = [("token_embd.weight", 0, 64), ("token_embd.weight", 49100, 52), ("blk.0.attn_q.weight", 0, None),
             ("blk.29.ffn_down.weight", 0, None), ("output_norm.weight", 0, None)]
    out = []
    for name, first, count in picks:
        t = by_name[name]
        rows = dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32)
        rows = rows.reshape(-1, int(t.shape[0]))
        n = rows.shape[0] - first if count is None else count
        sel = np.ascontiguousarray(rows[first:first + n])
        out.append({"file": os.path.basename(path), "tensor": name, "type": t.tensor_type.name, "firstRow": first,
                    "nRows": n, "sha256": hashlib.sha256(sel.tobytes()).hexdigest(),
                    "sum": float(sel.astype(np.float64).sum())})
    return out


def gguf_version() -> str:
    from importlib.metadata import version
    return version("gguf")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="test/fixtures/quant-vectors.json")
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--ggml-src", help="llama.cpp checkout: adds ggml C quantize vectors (needed for Q4_K/Q6_K)")
    ap.add_argument("--models", help="directory holding SmolLM2-135M-Instruct.Q4_1.gguf: adds real-file digests")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    doc = {
        "about": "Oracle vectors for src/engine/gguf/quants.ts and quantize.ts; generated by scripts/make-quant-vectors.py.",
        "seed": a.seed, "gguf_py": gguf_version(), "numpy": np.__version__,
        "encoding": "bytes: base64 raw GGUF blocks; values/input: base64 little-endian float32",
        "dequantize": dequant_vectors(rng),
        "quantize": gguf_py_quantize_vectors(rng),
        "realFile": [],
    }
    if a.ggml_src:
        commit = subprocess.run(["git", "-C", a.ggml_src, "rev-parse", "--short=12", "HEAD"],
                                capture_output=True, text=True).stdout.strip() or "unknown"
        with tempfile.TemporaryDirectory() as work:
            doc["quantize"] += c_quantize_vectors(rng, build_ggml(a.ggml_src, work), commit)
    else:
        print("warning: no --ggml-src, Q4_K/Q6_K quantize vectors omitted", file=sys.stderr)
    if a.models:
        doc["realFile"] = real_file_digests(a.models)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
