"""Helpers shared by the LossKit golden-file generators (generate.py, generate_detection.py, generate_metric.py and
generate_criteria.py in this folder). Each generator imports this module by name (Python puts the running script's
folder on sys.path) and seeds torch's global generator itself; nothing here seeds or draws at import.

Conventions of every golden file:

* strict JSON, written compactly with one trailing newline: { "generator": "<script>", "torch": "<version>",
  [other library versions], "cases": [ CASE, ... ] };
* every tensor is { "shape": [...], "data": [flat row-major values] }, a scalar has shape [] and one element;
* floats are JSON numbers, except the non-finite ones, which are the strings "NaN", "Infinity" and "-Infinity";
  integer tensors (class labels, counts, matches) hold JSON integers;
* input data is drawn in float32 (or lies on a coarse grid) and widened to float64, so it is exactly representable in
  float32; all computation happens in float64.
"""

import json
import math
import os

import torch

F32 = torch.float32
F64 = torch.float64
I64 = torch.int64

REDUCTIONS = ["none", "mean", "sum"]
BIG = 1e4  # the magnitude of "extreme" logits

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
REFERENCE_DIR = os.path.join(ROOT, "tests", "LossKit.Tests", "Reference")


# ----------------------------------------------------------------------------
# random helpers: everything drawn in float32 then widened to float64
# ----------------------------------------------------------------------------

def f32(t):
    """Round a tensor to float32 and widen back to float64."""
    return t.to(F32).to(F64)


def randn(*shape, scale=1.0):
    return f32(torch.randn(shape, dtype=F32) * scale)


def uniform(lo, hi, *shape):
    return f32(torch.empty(shape, dtype=F32).uniform_(lo, hi))


def randint(lo, hi, *shape):
    """Integers in [lo, hi)."""
    return torch.randint(lo, hi, shape, dtype=I64)


def rand_n(lo=1, hi=7):
    """One random batch size in [lo, hi)."""
    return int(torch.randint(lo, hi, ()).item())


def logits(n, c, scale=3.0):
    return randn(n, c, scale=scale)


def pattern_logits(n, c):
    """Rows of the pattern [1e4, -1e4, 0, 3] (repeated to c columns, permuted per row)."""
    pattern = torch.tensor([BIG, -BIG, 0.0, 3.0], dtype=F64)
    rows = []
    for _ in range(n):
        row = pattern.repeat((c + 3) // 4)[:c]
        rows.append(row[torch.randperm(c)])
    return torch.stack(rows) if n else torch.zeros(0, c, dtype=F64)


def upstream_for(value):
    """The upstream gradient of a case: a scalar in [0.25, 2] for a scalar value, else standard normal of its shape."""
    return uniform(0.25, 2.0) if value.dim() == 0 else randn(*value.shape)


def vjp(value, upstream, inputs, enabled=True):
    """d(sum(value * upstream)) / d each of inputs by autograd, as a list. Zeros for an input the value does not use,
    and for all of them when the value has no graph or enabled is False (the callers' guard against empty tensors)."""
    grads = [None] * len(inputs)
    if enabled and value.requires_grad:
        grads = torch.autograd.grad((value * upstream).sum(), inputs, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads)]


def reduce(v, reduction):
    """Plain torch reduction (mean of empty = NaN)."""
    if reduction == "none":
        return v
    if reduction == "mean":
        return v.mean()
    if reduction == "sum":
        return v.sum()
    raise ValueError(reduction)


# ----------------------------------------------------------------------------
# JSON encoding and checks
# ----------------------------------------------------------------------------

def enc_float(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def enc(t, as_int=None):
    """{"shape", "data"} of a tensor (or anything torch.as_tensor takes). as_int: write JSON integers (True) or floats
    (False); None decides by the dtype."""
    t = torch.as_tensor(t).detach()
    if as_int is None:
        as_int = not t.is_floating_point()
    data = t.reshape(-1).tolist()
    data = [int(v) for v in data] if as_int else [enc_float(v) for v in data]
    return {"shape": list(t.shape), "data": data}


def check_f32(name, what, t):
    """Assert that a floating input of case name is float64 and its finite values are float32-representable
    (None and integer tensors pass)."""
    if t is None:
        return
    t = torch.as_tensor(t)
    if not t.is_floating_point():
        return
    assert t.dtype == F64, (name, what, t.dtype)
    fin = torch.isfinite(t)
    assert torch.equal(t[fin], f32(t[fin])), "%s: %s not float32-representable" % (name, what)


class CaseList:
    """The cases of one golden file in order, with unique names. A generator whose cases need more than a dict subclasses
    it with an add method that builds its case layout: claim(name) first, then append to cases."""

    def __init__(self):
        self.cases = []
        self.names = set()

    def claim(self, name):
        assert name not in self.names, "duplicate case name " + name
        self.names.add(name)

    def append(self, case):
        self.claim(case["name"])
        self.cases.append(case)


# ----------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------

def write(path, generator, cases, **versions):
    """Write a golden file: {"generator", "torch", **versions, "cases"}; returns its size in bytes."""
    doc = {"generator": generator, "torch": torch.__version__, **versions, "cases": cases}
    text = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.write("\n")
    return len(text) + 1


def load_strict(path):
    """Read a golden file back, rejecting bare NaN / Infinity tokens and duplicate case names."""
    with open(path, "r", encoding="utf-8") as f:
        raw = f.read()

    def reject(tok):
        raise ValueError("bare non-finite token %s in %s" % (tok, path))
    doc = json.loads(raw, parse_constant=reject)
    names = [c["name"] for c in doc["cases"]]
    assert len(names) == len(set(names)), "duplicate names"
    return doc


def print_summary(path, doc, size, key, width):
    """Print the file, its case count and size, then the count of cases per value of key in first-seen order."""
    counts = {}
    for c in doc["cases"]:
        counts[c[key]] = counts.get(c[key], 0) + 1
    print("%s: %d cases, %.2f MB" % (os.path.relpath(path, ROOT), len(doc["cases"]), size / 1e6))
    for k, v in counts.items():
        print("  %-*s %d" % (width, k, v))


def nonfinite_cases(doc):
    """Names of the cases whose value or grad_input holds a non-finite entry."""
    return [c["name"] for c in doc["cases"]
            if any(isinstance(v, str) for key in ("value", "grad_input") if key in c for v in c[key]["data"])]
