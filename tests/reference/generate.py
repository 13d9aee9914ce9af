#!/usr/bin/python3
"""Reference-value generator for the LossKit test suite.

Run with Debian's python3 (which ships python3-torch):

    /usr/bin/python3 tests/reference/generate.py

It writes two golden files, relative to the repository root:

    tests/LossKit.Tests/Reference/classification.json
    tests/LossKit.Tests/Reference/regression.json

Format (strict JSON; non-finite floats are written as the strings "NaN",
"Infinity" and "-Infinity"):

    { "generator": "tests/reference/generate.py", "torch": "<version>",
      "cases": [ CASE, ... ] }

    CASE = { "name", "loss", "params",
             "input", "target", ["weight"], ["pos_weight"],
             "upstream", "value", "grad_input" }

Every tensor is { "shape": [...], "data": [flat row-major values] }. A scalar
has shape [] and one element. Class-index targets are JSON integers.

All input data (input, float targets, weight, pos_weight, upstream) is drawn in
float32 and widened to float64, so it is exactly representable in float32; all
computation happens in float64. "grad_input" is d(sum(value * upstream))/d input
computed with torch.autograd.grad. Hyper-parameters are plain Python floats.

Deterministic: all randomness comes from torch's global generator seeded once.

The helpers this script shares with generate_detection.py, generate_metric.py
and generate_criteria.py (random draws, JSON encoding, checks, writing) are in
refcommon.py next to it.
"""

import math
import os
import sys
import warnings

import torch
import torch.nn.functional as F

from refcommon import (BIG, F32, F64, I64, REDUCTIONS, REFERENCE_DIR, CaseList, check_f32, enc, f32,
                       load_strict, logits, nonfinite_cases, pattern_logits, print_summary, rand_n, randint, randn,
                       reduce, uniform, upstream_for, vjp, write)

warnings.filterwarnings("ignore")
torch.manual_seed(20240611)

LENGTHS = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 257]
FULL_LENGTHS = {0, 17, 257}  # lengths at which every reduction is generated
CLASSES = [1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 257]
KINK_EPS = 1e-3  # minimum distance kept from non-differentiable points


# ----------------------------------------------------------------------------
# random helpers (f32, randn, uniform, randint, rand_n, logits: refcommon.py)
# ----------------------------------------------------------------------------

def signs(*shape):
    return (torch.randint(0, 2, shape, dtype=I64) * 2 - 1).to(F64)


def log_probs(n, c):
    """float32-representable log-probabilities (log_softmax rounded to f32)."""
    return f32(torch.log_softmax(logits(n, c), dim=1))


def probs(n, c, zeros=False):
    """float32-representable probability rows (sum ~ 1), optional exact zeros."""
    p = torch.softmax(logits(n, c, scale=1.5), dim=1)
    if zeros and c > 1:
        mask = torch.rand(n, c) < 0.3
        mask[:, 0] = False  # keep each row non-empty
        p = p.masked_fill(mask, 0.0)
        p = p / p.sum(dim=1, keepdim=True)
    return f32(p)


def extreme_logits(n, c, kind):
    """Logits at +-1e4: 'signs' = random +-1e4, 'mixed' = pattern [1e4,-1e4,0,3]."""
    if kind == "signs":
        return signs(n, c) * BIG
    return pattern_logits(n, c)


def index_targets(n, c, ignore_index=None, frac=0.0, all_ignored=False):
    t = randint(0, c, n)
    if ignore_index is not None and n > 0:
        if all_ignored:
            t[:] = ignore_index
        elif frac > 0 and n >= 2:
            m = torch.rand(n) < frac
            m[0] = True   # at least one ignored ...
            m[1] = False  # ... and at least one counted
            t[m] = ignore_index
            if ignore_index >= 0:
                # a valid-class ignore_index: make sure a counted target is
                # not accidentally equal to it
                if t[1].item() == ignore_index:
                    t[1] = (ignore_index + 1) % c if c > 1 else ignore_index
    return t


def avoid(sample, bad, max_tries=1000):
    """Resample elements for which bad(x) is True (elementwise)."""
    x = sample()
    for _ in range(max_tries):
        m = bad(x)
        if not bool(m.any()):
            return x
        x = torch.where(m, sample(), x)
    raise RuntimeError("could not avoid kink")


# ----------------------------------------------------------------------------
# case collection (JSON encoding and checks: refcommon.py)
# ----------------------------------------------------------------------------

class Collector(CaseList):
    def add(self, name, loss, params, fn, inp, target, weight=None, pos_weight=None,
            int_target=False):
        """fn(input, target, weight, pos_weight) -> loss tensor (float64)."""
        self.claim(name)
        check_f32(name, "input", inp)
        if not int_target:
            check_f32(name, "target", target)
        check_f32(name, "weight", weight)
        check_f32(name, "pos_weight", pos_weight)

        x = inp.detach().clone().requires_grad_(True)
        value = fn(x, target, weight, pos_weight)
        assert value.dtype == F64, name
        upstream = upstream_for(value)
        (g,) = vjp(value, upstream, [x], enabled=x.numel() > 0)
        check_f32(name, "upstream", upstream)

        case = {"name": name, "loss": loss, "params": params, "input": enc(inp),
                "target": enc(target, as_int=int_target)}
        if weight is not None:
            case["weight"] = enc(weight)
        if pos_weight is not None:
            case["pos_weight"] = enc(pos_weight)
        case["upstream"] = enc(upstream)
        case["value"] = enc(value)
        case["grad_input"] = enc(g)
        self.cases.append(case)


def shape_str(t):
    return "x".join(str(s) for s in t.shape) if t.dim() else "scalar"


def nc(n, c):
    return "n=%d,c=%d" % (n, c)


def wtag(w):
    return "weight" if w is not None else "noweight"


def sweep_reductions(i, n_or_len, full):
    """Reductions for sweep item i: cycle, or all three at 'full' sizes."""
    if n_or_len in full:
        return REDUCTIONS
    return [REDUCTIONS[i % 3]]


# ----------------------------------------------------------------------------
# classification losses
# ----------------------------------------------------------------------------

def ce_fn(reduction, ignore_index, ls):
    def fn(x, t, w, pw):
        return F.cross_entropy(x, t, weight=w, ignore_index=ignore_index,
                               reduction=reduction, label_smoothing=ls)
    return fn


def gen_cross_entropy(col):
    L = "cross_entropy"

    def add(tag, x, t, w, red, ii=-100, ls=0.0):
        n, c = x.shape
        name = "%s/%s/%s/%s/ii=%d,ls=%g/%s" % (L, tag, red, wtag(w), ii, ls, nc(n, c))
        col.add(name, L, {"reduction": red, "ignore_index": ii, "label_smoothing": ls},
                ce_fn(red, ii, ls), x, t, w, int_target=True)

    # basic sweep over class counts
    for i, c in enumerate(CLASSES):
        n = rand_n()
        w = uniform(0.1, 2.0, c) if i % 2 else None
        add("sweep", logits(n, c), index_targets(n, c), w, REDUCTIONS[i % 3])
    # sweep with label smoothing and ignored targets
    for i, c in enumerate(CLASSES):
        n = rand_n()
        w = uniform(0.1, 2.0, c) if i % 2 == 0 else None
        ls = [0.1, 0.3, 1.0][i % 3]
        add("sweep_ls_ignore", logits(n, c), index_targets(n, c, -100, 0.4), w,
            REDUCTIONS[(i + 1) % 3], ls=ls)
    # every reduction x weight, plain
    for red in REDUCTIONS:
        for use_w in (False, True):
            n, c = 5, 17
            w = uniform(0.1, 2.0, c) if use_w else None
            add("index", logits(n, c), index_targets(n, c), w, red)
    # ignore_index=-100 with some targets ignored, label smoothing x weight
    for ls in (0.0, 0.1, 0.3, 1.0):
        for red in REDUCTIONS:
            for use_w in (False, True):
                n, c = 6, 9
                w = uniform(0.1, 2.0, c) if use_w else None
                add("ignored_some", logits(n, c), index_targets(n, c, -100, 0.4), w, red, ls=ls)
    # ignore_index set to a valid class (0)
    for ls in (0.0, 0.1):
        for red in REDUCTIONS:
            for use_w in (False, True):
                n, c = 6, 7
                w = uniform(0.1, 2.0, c) if use_w else None
                add("ignore_valid_class", logits(n, c), index_targets(n, c, 0, 0.4), w, red,
                    ii=0, ls=ls)
    # weight with an exact zero entry
    for red in REDUCTIONS:
        n, c = 6, 5
        w = uniform(0.1, 2.0, c)
        w[2] = 0.0
        t = index_targets(n, c)
        t[0] = 2
        add("zero_weight_class", logits(n, c), t, w, red, ls=0.0)
        add("zero_weight_class", logits(n, c), t, w, red, ls=0.2)
    # all targets ignored
    for ls in (0.0, 0.1):
        for red in REDUCTIONS:
            for use_w in (False, True):
                n, c = 4, 6
                w = uniform(0.1, 2.0, c) if use_w else None
                add("all_ignored", logits(n, c), index_targets(n, c, -100, all_ignored=True),
                    w, red, ls=ls)
    # empty batch
    for ls in (0.0, 0.1):
        for red in REDUCTIONS:
            for use_w in (False, True):
                c = 5
                w = uniform(0.1, 2.0, c) if use_w else None
                add("empty", logits(0, c), index_targets(0, c), w, red, ls=ls)
    # a single class
    for red in REDUCTIONS:
        for ls in (0.0, 0.1):
            n = 4
            add("one_class", logits(n, 1), index_targets(n, 1), uniform(0.1, 2.0, 1), red, ls=ls)
    # extreme logits
    for kind in ("signs", "mixed"):
        for red in REDUCTIONS:
            for ls, use_w in ((0.0, False), (0.1, True)):
                n, c = 5, (9 if kind == "mixed" else 6)
                w = uniform(0.1, 2.0, c) if use_w else None
                add("extreme_" + kind, extreme_logits(n, c, kind), index_targets(n, c), w,
                    red, ls=ls)


def gen_cross_entropy_prob(col):
    L = "cross_entropy_prob"

    def add(tag, x, t, w, red, ls=0.0):
        n, c = x.shape
        name = "%s/%s/%s/%s/ls=%g/%s" % (L, tag, red, wtag(w), ls, nc(n, c))

        def fn(x, t, w, pw):
            return F.cross_entropy(x, t, weight=w, reduction=red, label_smoothing=ls)
        col.add(name, L, {"reduction": red, "label_smoothing": ls}, fn, x, t, w)

    for i, c in enumerate(CLASSES):
        n = rand_n()
        w = uniform(0.1, 2.0, c) if i % 2 else None
        ls = 0.2 if (i // 2) % 2 else 0.0
        add("sweep", logits(n, c), probs(n, c, zeros=(i % 3 == 0)), w, REDUCTIONS[i % 3], ls)
    for red in REDUCTIONS:
        for ls in (0.0, 0.2):
            for use_w in (False, True):
                n, c = 5, 17
                w = uniform(0.1, 2.0, c) if use_w else None
                add("normalised", logits(n, c), probs(n, c), w, red, ls)
                # non-normalised soft targets: independent values in [0, 1]
                add("unnormalised", logits(n, c), uniform(0.0, 1.0, n, c), w, red, ls)
    for red in REDUCTIONS:
        for ls in (0.0, 0.2):
            for use_w in (False, True):
                c = 5
                w = uniform(0.1, 2.0, c) if use_w else None
                add("empty", logits(0, c), probs(0, c), w, red, ls)
    for red in REDUCTIONS:
        add("one_class", logits(3, 1), probs(3, 1), None, red, 0.2)
    for kind in ("signs", "mixed"):
        for red in REDUCTIONS:
            for ls, use_w in ((0.0, False), (0.2, True)):
                n, c = 4, (9 if kind == "mixed" else 6)
                w = uniform(0.1, 2.0, c) if use_w else None
                add("extreme_" + kind, extreme_logits(n, c, kind), probs(n, c, zeros=True),
                    w, red, ls)


def gen_nll(col):
    L = "nll"

    def add(tag, x, t, w, red, ii=-100):
        n, c = x.shape
        name = "%s/%s/%s/%s/ii=%d/%s" % (L, tag, red, wtag(w), ii, nc(n, c))

        def fn(x, t, w, pw):
            return F.nll_loss(x, t, weight=w, ignore_index=ii, reduction=red)
        col.add(name, L, {"reduction": red, "ignore_index": ii}, fn, x, t, w, int_target=True)

    for i, c in enumerate(CLASSES):
        n = rand_n()
        w = uniform(0.1, 2.0, c) if i % 2 else None
        frac = 0.4 if (i // 2) % 2 else 0.0
        add("sweep", log_probs(n, c), index_targets(n, c, -100, frac), w, REDUCTIONS[i % 3])
    for red in REDUCTIONS:
        for use_w in (False, True):
            n, c = 6, 9
            w = uniform(0.1, 2.0, c) if use_w else None
            add("index", log_probs(n, c), index_targets(n, c), w, red)
            add("ignored_some", log_probs(n, c), index_targets(n, c, -100, 0.4), w, red)
            add("ignore_valid_class", log_probs(n, c), index_targets(n, c, 0, 0.4), w, red, ii=0)
            add("all_ignored", log_probs(4, c), index_targets(4, c, -100, all_ignored=True), w, red)
            add("empty", log_probs(0, 5), index_targets(0, 5), uniform(0.1, 2.0, 5) if use_w else None, red)


def gen_bce(col):
    L = "bce"

    def add(tag, x, t, w, red):
        name = "%s/%s/%s/%s/len=%d" % (L, tag, red, wtag(w), x.numel())

        def fn(x, t, w, pw):
            return F.binary_cross_entropy(x, t, weight=w, reduction=red)
        col.add(name, L, {"reduction": red}, fn, x, t, w)

    def targets(n):
        hard = (torch.rand(n) < 0.5).to(F64)
        soft = uniform(0.0, 1.0, n)
        return torch.where(torch.rand(n) < 0.5, hard, soft)

    for i, n in enumerate(LENGTHS):
        for red in sweep_reductions(i, n, FULL_LENGTHS):
            for use_w in ((False, True) if n in FULL_LENGTHS else (i % 2 == 1,)):
                w = uniform(0.1, 2.0, n) if use_w else None
                add("sweep", uniform(0.001, 0.999, n), targets(n), w, red)
    # inputs exactly 0 and 1 (torch clamps log at -100)
    x = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 0.25], dtype=F64)
    t = torch.tensor([0.0, 1.0, 0.25, 0.0, 1.0, 0.75, 1.0, 0.0], dtype=F64)
    for red in REDUCTIONS:
        add("saturated", x, t, None, red)
        add("saturated", x, t, uniform(0.1, 2.0, x.numel()), red)
    # near-saturated probabilities
    x = f32(torch.tensor([1e-30, 1e-7, 1 - 2.0 ** -24, 1 - 2.0 ** -20, 0.5], dtype=F64))
    t = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5], dtype=F64)
    for red in REDUCTIONS:
        add("near_saturated", x, t, None, red)


def gen_bce_with_logits(col):
    L = "bce_with_logits"
    SHAPES = {0: (0, 4), 1: (1, 1), 3: (1, 3), 7: (7, 1), 8: (2, 4), 9: (3, 3), 15: (3, 5),
              16: (4, 4), 17: (1, 17), 31: (31, 1), 32: (4, 8), 33: (3, 11), 63: (7, 9),
              64: (8, 8), 65: (5, 13), 127: (1, 127), 128: (8, 16), 129: (3, 43), 257: (1, 257)}

    def add(tag, x, t, w, pw, red):
        n, c = x.shape
        name = "%s/%s/%s/%s/%s/%s" % (L, tag, red, wtag(w),
                                      "pos_weight" if pw is not None else "nopos_weight", nc(n, c))

        def fn(x, t, w, pw):
            return F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw, reduction=red)
        col.add(name, L, {"reduction": red}, fn, x, t, w, pw)

    def targets(n, c):
        hard = (torch.rand(n, c) < 0.5).to(F64)
        soft = uniform(0.0, 1.0, n, c)
        return torch.where(torch.rand(n, c) < 0.5, hard, soft)

    combos = [(False, False), (True, False), (False, True), (True, True)]
    for i, length in enumerate(LENGTHS):
        n, c = SHAPES[length]
        for red in sweep_reductions(i, length, FULL_LENGTHS):
            for use_w, use_pw in (combos if length in FULL_LENGTHS else [combos[i % 4]]):
                w = uniform(0.1, 2.0, n, c) if use_w else None
                pw = uniform(0.1, 4.0, c) if use_pw else None
                add("sweep", logits(n, c), targets(n, c), w, pw, red)
    for kind in ("signs", "mixed"):
        for red in REDUCTIONS:
            for use_w, use_pw in combos:
                n, c = 4, 9
                w = uniform(0.1, 2.0, n, c) if use_w else None
                pw = uniform(0.1, 4.0, c) if use_pw else None
                add("extreme_" + kind, extreme_logits(n, c, kind), targets(n, c), w, pw, red)


def gen_kl_div(col):
    L = "kl_div"
    KL_RED = ["none", "mean", "sum", "batchmean"]

    def add(tag, x, t, red, log_target):
        n, c = x.shape
        name = "%s/%s/%s/log_target=%s/%s" % (L, tag, red, str(log_target).lower(), nc(n, c))

        def fn(x, t, w, pw):
            return F.kl_div(x, t, reduction=red, log_target=log_target)
        col.add(name, L, {"reduction": red, "log_target": log_target}, fn, x, t)

    def tgt(n, c, log_target):
        return log_probs(n, c) if log_target else probs(n, c, zeros=True)

    for i, c in enumerate(CLASSES):
        n = rand_n()
        lt = bool(i % 2)
        add("sweep", log_probs(n, c), tgt(n, c, lt), KL_RED[i % 4], lt)
    for red in KL_RED:
        for lt in (False, True):
            n, c = 5, 17
            add("rows", log_probs(n, c), tgt(n, c, lt), red, lt)
            add("empty", log_probs(0, 5), tgt(0, 5, lt), red, lt)
    # a target row that is entirely zero except one entry (exact zeros)
    for red in KL_RED:
        n, c = 3, 8
        t = torch.zeros(n, c, dtype=F64)
        t[torch.arange(n), randint(0, c, n)] = 1.0
        add("onehot_target", log_probs(n, c), t, red, False)


def margin_fn(kind):
    if kind == "hinge":
        return lambda x, y: torch.clamp(1 - y * x, min=0)
    if kind == "squared_hinge":
        return lambda x, y: torch.clamp(1 - y * x, min=0) ** 2
    if kind == "exponential":
        return lambda x, y: torch.exp(-y * x)
    raise ValueError(kind)


def gen_margin_family(col, L):
    elem = margin_fn(L)

    def add(tag, x, y, red):
        name = "%s/%s/%s/len=%d" % (L, tag, red, x.numel())

        def fn(x, t, w, pw):
            return reduce(elem(x, t), red)
        col.add(name, L, {"reduction": red}, fn, x, y)

    for i, n in enumerate(LENGTHS):
        for red in sweep_reductions(i, n, FULL_LENGTHS):
            y = signs(n)
            x = avoid(lambda: randn(n, scale=3.0), lambda x: (1 - y * x).abs() < KINK_EPS)
            add("sweep", x, y, red)
    # a 2-D input
    for red in REDUCTIONS:
        y = signs(4, 5)
        x = avoid(lambda: randn(4, 5, scale=3.0), lambda x: (1 - y * x).abs() < KINK_EPS)
        name = "%s/%s/%s/shape=4x5" % (L, "2d", red)
        col.add(name, L, {"reduction": red}, lambda x, t, w, pw, red=red: reduce(elem(x, t), red), x, y)
    if L in ("hinge", "squared_hinge"):
        for kind in ("signs", "mixed"):
            for red in REDUCTIONS:
                x = extreme_logits(1, 12, kind).reshape(-1)
                add("extreme_" + kind, x, signs(12), red)


def gen_soft_margin(col):
    """torch.nn.SoftMarginLoss, ln(1 + e^(−y·x)). PyTorch 1.13 computes log1p(exp(−y·x)), which overflows to ∞ (and a
    NaN gradient) once −y·x passes ~88 (float) / ~709 (double); the extreme cases use the same function written
    without the overflow, F.softplus(z) with z = −y·x (exact here: the extreme logits give z ∈ {0, ±3, ±1e4}, and
    softplus is z itself above 20 only where e^(−z) is below double rounding of z)."""
    L = "soft_margin"

    def add(tag, x, y, red, fn_elem):
        name = "%s/%s/%s/len=%d" % (L, tag, red, x.numel())
        col.add(name, L, {"reduction": red}, lambda x, t, w, pw: reduce(fn_elem(x, t), red), x, y)

    torch_form = lambda x, y: F.soft_margin_loss(x, y, reduction="none")
    stable_form = lambda x, y: F.softplus(-y * x)
    for i, n in enumerate(LENGTHS):
        for red in sweep_reductions(i, n, FULL_LENGTHS):
            add("sweep", randn(n, scale=3.0), signs(n), red, torch_form)
    for red in REDUCTIONS:
        y = signs(4, 5)
        x = randn(4, 5, scale=3.0)
        name = "%s/2d/%s/shape=4x5" % (L, red)
        col.add(name, L, {"reduction": red}, lambda x, t, w, pw, red=red: reduce(torch_form(x, t), red), x, y)
    for kind in ("signs", "mixed"):
        for red in REDUCTIONS:
            add("extreme_" + kind, extreme_logits(1, 12, kind).reshape(-1), signs(12), red, stable_form)


def gen_hinge_embedding(col):
    L = "hinge_embedding"

    def add(tag, x, y, red, margin):
        name = "%s/%s/%s/margin=%g/len=%d" % (L, tag, red, margin, x.numel())

        def fn(x, t, w, pw):
            return F.hinge_embedding_loss(x, t, margin=margin, reduction=red)
        col.add(name, L, {"reduction": red, "margin": margin}, fn, x, y)

    for margin in (1.0, 0.5, 2.0):
        for i, n in enumerate(LENGTHS):
            for red in sweep_reductions(i, n, FULL_LENGTHS):
                y = signs(n)
                x = avoid(lambda: randn(n, scale=3.0), lambda x: (margin - x).abs() < KINK_EPS)
                add("sweep", x, y, red, margin)
    for kind in ("signs", "mixed"):
        for red in REDUCTIONS:
            for margin in (1.0, 2.0):
                x = extreme_logits(1, 12, kind).reshape(-1)
                add("extreme_" + kind, x, signs(12), red, margin)


def gen_multi_margin(col):
    L = "multi_margin"

    def kinky(x, t, margin):
        if x.numel() == 0:
            return torch.zeros(x.shape[0], dtype=torch.bool)
        xy = x.gather(1, t.view(-1, 1))
        d = (margin - xy + x).abs() < KINK_EPS
        d[torch.arange(x.shape[0]), t] = False
        return d.any(dim=1)

    def make_input(n, c, t, margin):
        x = logits(n, c)
        for _ in range(1000):
            bad = kinky(x, t, margin)
            if not bool(bad.any()):
                return x
            x = torch.where(bad.view(-1, 1), logits(n, c), x)
        raise RuntimeError("kink")

    def add(tag, x, t, w, red, p, margin):
        n, c = x.shape
        assert not bool(kinky(x, t, margin).any())
        name = "%s/%s/%s/%s/p=%d,margin=%g/%s" % (L, tag, red, wtag(w), p, margin, nc(n, c))

        def fn(x, t, w, pw):
            return F.multi_margin_loss(x, t, p=p, margin=margin, weight=w, reduction=red)
        col.add(name, L, {"reduction": red, "p": p, "margin": margin}, fn, x, t, w,
                int_target=True)

    for i, c in enumerate(CLASSES):
        n = rand_n()
        p = 1 + (i % 2)
        margin = 1.0 if (i // 2) % 2 == 0 else 0.7
        w = uniform(0.1, 2.0, c) if (i // 4) % 2 else None
        t = index_targets(n, c)
        add("sweep", make_input(n, c, t, margin), t, w, REDUCTIONS[i % 3], p, margin)
    for red in REDUCTIONS:
        for p in (1, 2):
            for margin in (1.0, 0.7):
                for use_w in (False, True):
                    n, c = 5, 17
                    w = uniform(0.1, 2.0, c) if use_w else None
                    t = index_targets(n, c)
                    add("rows", make_input(n, c, t, margin), t, w, red, p, margin)
    # empty batch: torch 1.13 returns uninitialised memory for mean/sum on N=0,
    # so only reduction 'none' is recorded.
    for p in (1, 2):
        add("empty", logits(0, 5), index_targets(0, 5), None, "none", p, 1.0)
    for kind in ("signs", "mixed"):
        for red in REDUCTIONS:
            for p in (1, 2):
                n, c = 5, 8
                t = index_targets(n, c)
                x = extreme_logits(n, c, kind)
                w = uniform(0.1, 2.0, c) if p == 2 else None
                add("extreme_" + kind, x, t, w, red, p, 1.0)


# ----------------------------------------------------------------------------
# regression losses
# ----------------------------------------------------------------------------

def balanced_l1(pred, target, alpha, gamma, beta):
    d = (pred - target).abs()
    b = math.exp(gamma / alpha) - 1.0
    inside = (alpha / b) * (b * d + 1) * torch.log(b * d / beta + 1) - alpha * d
    outside = gamma * d + gamma / b - alpha * beta
    return torch.where(d < beta, inside, outside)


def regression_pair(shape, thr):
    """float32 target and input whose difference straddles thr (kinks avoided)."""
    target = randn(*shape, scale=2.0)
    scale = max(thr, 1.0)

    def sample():
        near = torch.empty(*shape, dtype=F32).uniform_(-2.0 * scale, 2.0 * scale)
        far = torch.randn(*shape, dtype=F32) * (3.0 * scale)
        diff = torch.where(torch.rand(*shape) < 0.5, near, far)
        return (target.to(F32) + diff).to(F64)  # rounded in float32

    def bad(x):
        d = (x - target).abs()
        m = d < KINK_EPS
        if thr > 0:
            m = m | ((d - thr).abs() < KINK_EPS)
        return m

    return avoid(sample, bad), target


def gen_regression(col, L, variants):
    """variants: list of (params-without-reduction, threshold, elementwise fn)."""
    for params, thr, fn_of in variants:
        ptag = ",".join("%s=%g" % (k, v) for k, v in params.items()) or "default"

        def add(tag, x, t, red):
            name = "%s/%s/%s/%s/shape=%s" % (L, tag, red, ptag, shape_str(x))
            col.add(name, L, dict({"reduction": red}, **params), fn_of(red), x, t)

        for i, n in enumerate(LENGTHS):
            for red in sweep_reductions(i, n, FULL_LENGTHS):
                x, t = regression_pair((n,), thr)
                add("sweep", x, t, red)
        for red in REDUCTIONS:
            x, t = regression_pair((5, 7), thr)
            add("2d", x, t, red)


def gen_all_regression(col):
    gen_regression(col, "l1", [({}, 0.0, lambda red: lambda x, t, w, pw: F.l1_loss(x, t, reduction=red))])
    gen_regression(col, "mse", [({}, 0.0, lambda red: lambda x, t, w, pw: F.mse_loss(x, t, reduction=red))])
    gen_regression(col, "smooth_l1", [
        ({"beta": beta}, beta,
         (lambda beta: lambda red: lambda x, t, w, pw: F.smooth_l1_loss(x, t, reduction=red, beta=beta))(beta))
        for beta in (1.0, 1.0 / 9.0, 0.0, 2.5)])
    gen_regression(col, "huber", [
        ({"delta": delta}, delta,
         (lambda delta: lambda red: lambda x, t, w, pw: F.huber_loss(x, t, reduction=red, delta=delta))(delta))
        for delta in (1.0, 0.5, 3.0)])
    gen_regression(col, "balanced_l1", [
        ({"alpha": a, "gamma": g, "beta": b}, b,
         (lambda a, g, b: lambda red: lambda x, t, w, pw: reduce(balanced_l1(x, t, a, g, b), red))(a, g, b))
        for a, g, b in ((0.5, 1.5, 1.0), (0.3, 1.2, 0.5))])


# ----------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------

def sanity(path):
    doc = load_strict(path)
    for c in doc["cases"]:
        for key in ("input", "target", "weight", "pos_weight", "upstream", "value", "grad_input"):
            if key in c:
                shape, data = c[key]["shape"], c[key]["data"]
                assert math.prod(shape) == len(data), (c["name"], key)
        assert c["grad_input"]["shape"] == c["input"]["shape"], c["name"]
        assert c["upstream"]["shape"] == c["value"]["shape"], c["name"]
    return doc


def main():
    torch.set_default_dtype(F64)
    cls = Collector()
    gen_cross_entropy(cls)
    gen_cross_entropy_prob(cls)
    gen_nll(cls)
    gen_bce(cls)
    gen_bce_with_logits(cls)
    gen_kl_div(cls)
    for L in ("hinge", "squared_hinge", "exponential"):
        gen_margin_family(cls, L)
    gen_hinge_embedding(cls)
    gen_multi_margin(cls)

    reg = Collector()
    gen_all_regression(reg)

    # Losses added after the first release draw from the generator after every earlier case, so that adding one
    # leaves the earlier golden values as they were.
    gen_soft_margin(cls)

    outputs = [("classification.json", cls.cases), ("regression.json", reg.cases)]
    for fname, cases in outputs:
        path = os.path.join(REFERENCE_DIR, fname)
        size = write(path, "tests/reference/generate.py", cases)
        doc = sanity(path)
        print_summary(path, doc, size, "loss", 20)
        nonfinite = nonfinite_cases(doc)
        if nonfinite:
            print("  cases with non-finite value/grad (%d):" % len(nonfinite))
            for nm in nonfinite:
                print("    " + nm)


if __name__ == "__main__":
    sys.exit(main())
