#!/usr/bin/python3
"""Half-precision golden cases for every registry entry (issue "Reliability", items 1-2).

    /usr/bin/python3 tests/reference/generate_half.py

writes tests/LossKit.Tests/Reference/half.json. Every case's inputs are Half-representable (drawn, then rounded to
float16), and it carries two references:

* "f32_value" / "f32_grad_<input>": the computation in float32 on those inputs (autograd gradient of the sum of the
  values, upstream 1), rounded to Half: what LossKit's float32 path for Half must give, to rounding;
* "value" / "grad_<input>" (only where "reference" is "torch_half"): PyTorch's own half result, where torch 1.13 has a
  CPU half kernel for every op of the formula and it agrees with the float32 result rounded to Half (normalised error
  <= 1e-2, the same non-finite entries). Otherwise "reference" is "float32" and "note" says why: no CPU half kernel,
  or torch's half intermediates overflow (a sum or a square past 65504) or lose the result.

Where torch has no float32 formula of its own (the criteria's YOLOv3 references are float64 re-implementations),
"float32" means that reference in float64, rounded to Half.

Cases per entry: "random" (moderate values), "large" (reductions over thousands of values, or thousands of classes,
given as a repeated pattern: {"shape", "repeat"} tiles the flat pattern to the shape) and "extreme" (values near
Half's largest finite 65504 and its smallest normal 6.1e-5, and subnormals). Values are written with 5 significant
digits, which round-trip Half exactly.
"""

import math
import sys
import types
import warnings

import torch
import torch.nn.functional as F
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.retinanet import RetinaNet, RetinaNetHead
from torchvision.models.detection.roi_heads import fastrcnn_loss
from torchvision.ops import sigmoid_focal_loss

import generate_criteria as crit
import generate_detection as det
import generate_metric as met
from generate import balanced_l1
from refcommon import F32, F64, I64, REFERENCE_DIR, enc_float, write

warnings.filterwarnings("ignore")
torch.manual_seed(20261207)

H = torch.float16
AGREE = 1e-2  # torch's half result is taken as the reference when it is this close to float32 rounded to Half


def h(t):
    """Round to Half, keep a float64 container."""
    return torch.as_tensor(t, dtype=F64).to(H).to(F64)


def hrandn(*shape, scale=1.0):
    return h(torch.randn(shape, dtype=F64) * scale)


def huniform(lo, hi, *shape):
    return h(torch.empty(shape, dtype=F64).uniform_(lo, hi))


def signs(*shape):
    return (torch.randint(0, 2, shape, dtype=I64) * 2 - 1).to(F64)


def tile(pattern, reps):
    """A tensor tiled from pattern along dim 0 (pattern rows repeated)."""
    return pattern.repeat((reps,) + (1,) * (pattern.dim() - 1))


# ----------------------------------------------------------------------------
# evaluation in a dtype, and the choice of reference
# ----------------------------------------------------------------------------

def evaluate(fn, inputs, diff, dtype):
    """fn on inputs cast to dtype (index tensors as they are); returns {"value", "grad_<name>"} rounded to Half, or None
    when torch has no kernel for dtype (or, for half, fn computes in another dtype)."""
    ts = {k: (v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in inputs.items()}
    req = {k: ts[k].clone().requires_grad_(True) for k in diff}
    ts.update(req)
    try:
        value = fn(ts)
        if dtype == H and value.dtype != H:
            return None  # a helper that promotes to float64 is not torch's half arithmetic
        grads = [None] * len(diff)
        if value.requires_grad and value.numel() > 0:
            grads = torch.autograd.grad(value.sum(), [req[k] for k in diff], allow_unused=True)
    except RuntimeError:
        return None
    out = {"value": h(value.detach().to(F64))}
    for k, g in zip(diff, grads):
        out["grad_" + k] = h((torch.zeros_like(req[k]) if g is None else g).detach().to(F64))
    return out


def normalised_error(a, b):
    """The suite's normalised error (Tolerance.Worst): |a - b| / max(|b|, max |b| over the finite entries)."""
    a, b = a.reshape(-1), b.reshape(-1)
    if a.numel() == 0:
        return 0.0
    fin = torch.isfinite(b)
    if not torch.equal(torch.isfinite(a), fin) or not torch.equal(a[~fin].nan_to_num(0.0, 1.0, -1.0), b[~fin].nan_to_num(0.0, 1.0, -1.0)):
        return math.inf
    if fin.sum() == 0:
        return 0.0
    scale = b[fin].abs().max().item()
    if scale == 0:
        return 0.0 if torch.equal(a[fin], b[fin]) else math.inf
    return ((a[fin] - b[fin]).abs() / torch.clamp(b[fin].abs(), min=scale)).max().item()


def enc_h(t, period=None):
    """A Half-valued tensor: {"shape", "data"} with 5 significant digits (enough to round-trip Half), or
    {"shape", "repeat"} when its flattened data is a short pattern tiled (the first period rows, or a period of at most
    64 elements)."""
    t = torch.as_tensor(t).detach()
    shape = list(t.shape)
    if not t.is_floating_point():
        flat = [int(v) for v in t.reshape(-1).tolist()]
    else:
        flat = [float("%.5g" % v) if math.isfinite(v) else enc_float(v) for v in t.reshape(-1).tolist()]
    n = len(flat)
    if n >= 256:
        candidates = list(range(1, 65))
        if period is not None and t.dim() > 0:
            candidates.append(period * (n // t.shape[0]))
        flat_t = torch.nan_to_num(t.reshape(-1).to(F64), nan=12345.0)
        for k in candidates:
            if n % k == 0 and k < n and torch.equal(flat_t[:k].repeat(n // k), flat_t):
                return {"shape": shape, "repeat": flat[:k]}
    return {"shape": shape, "data": flat}


class Cases:
    def __init__(self):
        self.cases = []
        self.names = set()
        self.stats = {"torch_half": 0, "float32": 0}

    def add(self, entry, tag, params, inputs, diff, fn, period=None, f64_only=False):
        name = "%s/%s" % (entry, tag)
        assert name not in self.names, name
        self.names.add(name)
        ref32 = evaluate(fn, inputs, diff, F64 if f64_only else F32)
        assert ref32 is not None, name
        ref16 = None if f64_only else evaluate(fn, inputs, diff, H)
        reference, note = "float32", "torch 1.13 has no CPU half kernel for this formula"
        if f64_only:
            note = "the reference is a float64 re-implementation, rounded to Half"
        if ref16 is not None:
            err = max(normalised_error(ref16[k], ref32[k]) for k in ref32)
            if err <= AGREE:
                reference, note = "torch_half", ""
            else:
                overflow = any(torch.isinf(ref16[k]).any() and not torch.isinf(ref32[k]).any() for k in ref32)
                note = ("torch's half intermediates overflow (float32 rounded to Half is finite)" if overflow
                        else "torch's half result differs from float32 rounded to Half by %.3g (normalised)" % err)
        self.stats[reference] += 1
        case = {"name": name, "entry": entry, "params": params, "reference": reference}
        if note:
            case["note"] = note
        for k, v in inputs.items():
            case[k] = enc_h(v, period if torch.is_tensor(v) and v.dim() > 0 and period else None)
        if reference == "torch_half":
            for k, v in ref16.items():
                case[k] = enc_h(v, period if v.dim() > 0 and period else None)
        for k, v in ref32.items():
            case["f32_" + k] = enc_h(v, period if v.dim() > 0 and period else None)
        self.cases.append(case)


def red(v, reduction):
    if reduction == "mean":
        return v.mean()
    if reduction == "sum":
        return v.sum()
    return v


# ----------------------------------------------------------------------------
# element-wise losses
# ----------------------------------------------------------------------------

ELEMENTWISE = {
    # id: (fn(x, t, params), input sampler(n, kind), target sampler(n, kind), params)
    "l1": lambda x, t, p: red((x - t).abs(), p["reduction"]),
    "mse": lambda x, t, p: F.mse_loss(x, t, reduction=p["reduction"]),
    "smooth_l1": lambda x, t, p: F.smooth_l1_loss(x, t, reduction=p["reduction"], beta=p["beta"]),
    "huber": lambda x, t, p: F.huber_loss(x, t, reduction=p["reduction"], delta=p["delta"]),
    "balanced_l1": lambda x, t, p: red(balanced_l1(x, t, p["alpha"], p["gamma"], p["beta"]), p["reduction"]),
    "bce": lambda x, t, p: F.binary_cross_entropy(x, t, reduction=p["reduction"]),
    "bce_with_logits": lambda x, t, p: F.binary_cross_entropy_with_logits(x, t, reduction=p["reduction"]),
    "hinge": lambda x, t, p: red(torch.clamp(1 - t * x, min=0), p["reduction"]),
    "squared_hinge": lambda x, t, p: red(torch.clamp(1 - t * x, min=0) ** 2, p["reduction"]),
    "hinge_embedding": lambda x, t, p: F.hinge_embedding_loss(x, t, margin=p["margin"], reduction=p["reduction"]),
    "exponential": lambda x, t, p: red(torch.exp(-t * x), p["reduction"]),
    # ln(1 + e^(-y x)) as softplus: F.soft_margin_loss's own formula overflows to inf past -y x = 88 (float32), where
    # LossKit returns the exact value (docs/RELIABILITY.md)
    "soft_margin": lambda x, t, p: red(F.softplus(-t * x), p["reduction"]),
    "sigmoid_focal": lambda x, t, p: sigmoid_focal_loss(x, t, alpha=p["alpha"], gamma=p["gamma"], reduction=p["reduction"]),
    "varifocal": lambda x, t, p: det.varifocal(x, t, p["alpha"], p["gamma"], p["iou_weighted"], None, p["reduction"], None),
}

DEFAULTS = {
    "smooth_l1": {"beta": 1.0}, "huber": {"delta": 1.0}, "balanced_l1": {"alpha": 0.5, "gamma": 1.5, "beta": 1.0},
    "hinge_embedding": {"margin": 1.0}, "sigmoid_focal": {"alpha": 0.25, "gamma": 2.0},
    "varifocal": {"alpha": 0.75, "gamma": 2.0, "iou_weighted": True},
}

REGRESSION = ["l1", "mse", "smooth_l1", "huber", "balanced_l1"]
LOGIT_BINARY = ["bce_with_logits", "sigmoid_focal"]  # targets in [0, 1]
SIGNED = ["hinge", "squared_hinge", "exponential", "soft_margin", "hinge_embedding"]  # targets +-1

EXTREME_REGRESSION = [250.0, -255.9, 180.0, 6.1035e-05, -6.1035e-05, 3.0e-06, 5.96e-08, 0.0, 1.0e-4, 0.5]
EXTREME_LOGITS = [60000.0, -60000.0, 1000.0, -1000.0, 20.0, -20.0, 6.1035e-05, -6.1035e-05, 3.0e-06, 0.0]


def elementwise_inputs(loss, n, kind):
    if loss in REGRESSION:
        if kind == "extreme":
            x = h(torch.tensor(EXTREME_REGRESSION * (n // len(EXTREME_REGRESSION)), dtype=F64))
            t = h(torch.tensor([0.0, 250.0, -180.0, 0.0, 6.1035e-05, -3.0e-06, 0.0, 5.96e-08, -1.0e-4, 0.5]
                               * (n // len(EXTREME_REGRESSION)), dtype=F64))
            return x, t
        return hrandn(n, scale=2.0), hrandn(n, scale=2.0)
    if loss == "bce":
        if kind == "extreme":
            x = h(torch.tensor([6.1035e-05, 1 - 2 ** -11, 0.5, 5.96e-08, 1 - 2 ** -11, 0.25, 0.999, 1e-3, 6.1035e-05, 0.75], dtype=F64))
            t = h(torch.tensor([0.0, 1.0, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.5], dtype=F64))
            return x, t
        return huniform(0.02, 0.98, n), huniform(0.0, 1.0, n)
    if loss == "varifocal":
        t = torch.where(torch.rand(n) < 0.4, huniform(0.05, 1.0, n), torch.zeros(n, dtype=F64))
        x = h(torch.tensor(EXTREME_LOGITS, dtype=F64)) if kind == "extreme" else hrandn(n, scale=3.0)
        return x, t[: x.numel()]
    if loss in LOGIT_BINARY:
        if kind == "extreme":
            return h(torch.tensor(EXTREME_LOGITS, dtype=F64)), h(torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.5, 1.0, 0.0, 0.25], dtype=F64))
        return hrandn(n, scale=3.0), huniform(0.0, 1.0, n)
    # signed targets
    if kind == "extreme":
        x = EXTREME_LOGITS if loss != "exponential" else [11.0, -11.0, 10.5, -10.0, 6.1035e-05, -6.1035e-05, 3.0e-06, 0.0, -11.08, 11.08]
        return h(torch.tensor(x, dtype=F64)), torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0], dtype=F64)
    return hrandn(n, scale=2.0), signs(n)


def gen_elementwise(col):
    for loss, fn in ELEMENTWISE.items():
        base = DEFAULTS.get(loss, {})
        for kind, n, reduction in [("random", 17, "none"), ("random_mean", 33, "mean"), ("large", 10000, "mean"),
                                   ("large_sum", 10000, "sum"), ("extreme", 10, "none"), ("extreme_mean", 10, "mean")]:
            p = dict(base, reduction=reduction)
            if kind.startswith("large"):
                px, pt = elementwise_inputs(loss, 16, "random")
                x, t = tile(px, n // 16), tile(pt, n // 16)
                period = 16
            else:
                x, t = elementwise_inputs(loss, n, "extreme" if kind.startswith("extreme") else "random")
                period = None
            col.add(loss, kind, p, {"input": x, "target": t}, ["input"],
                    lambda ts, fn=fn, p=p: fn(ts["input"], ts["target"], p), period=period)
        if loss in REGRESSION:
            # a mean whose sum overflows Half: d = 10 over 1,000 elements (mse 100, Σ = 100,000)
            x = torch.full((1000,), 10.0, dtype=F64)
            col.add(loss, "sum_past_65504", dict(base, reduction="mean"), {"input": x, "target": torch.zeros(1000, dtype=F64)},
                    ["input"], lambda ts, fn=fn, p=dict(base, reduction="mean"): fn(ts["input"], ts["target"], p), period=1)


def gen_kl(col):
    for kind, (b, k), reduction in [("random", (3, 5), "none"), ("random_batchmean", (4, 6), "batchmean"),
                                    ("large", (2000, 8), "batchmean"), ("extreme", (2, 5), "sum")]:
        if kind == "extreme":
            x = h(torch.tensor([[-60000.0, -10.0, -6.1035e-05, 0.0, -3.0e-06], [-1.0, -0.5, -20.0, -65504.0, -2.0]], dtype=F64))
            t = h(torch.tensor([[6.1035e-05, 5.96e-08, 0.5, 0.0, 0.25], [0.125, 1.0, 3.0e-06, 6.1035e-05, 0.5]], dtype=F64))
            period = None
        elif kind == "large":
            px = h(torch.log_softmax(torch.randn(8, k, dtype=F64), dim=1))
            pt = h(torch.softmax(torch.randn(8, k, dtype=F64), dim=1))
            x, t, period = tile(px, b // 8), tile(pt, b // 8), 8
        else:
            x = h(torch.log_softmax(torch.randn(b, k, dtype=F64), dim=1))
            t = h(torch.softmax(torch.randn(b, k, dtype=F64), dim=1))
            period = None
        p = {"reduction": reduction, "log_target": False}
        col.add("kl_div", kind, p, {"input": x, "target": t}, ["input"],
                lambda ts, r=reduction: F.kl_div(ts["input"], ts["target"], reduction=r), period=period)


# ----------------------------------------------------------------------------
# class-index rows
# ----------------------------------------------------------------------------

def ce_rows(n, c, kind):
    if kind == "extreme":
        x = hrandn(n, c, scale=2.0)
        x[0, 0], x[0, 1 % c] = 60000.0, -60000.0
        x[1 % n, :] = 6.1035e-05
        x[2 % n, 0] = 1000.0
        return h(x)
    return hrandn(n, c, scale=2.0)


def gen_class_index(col):
    specs = {
        "cross_entropy": ({}, lambda x, y, p: F.cross_entropy(x, y, reduction=p["reduction"], label_smoothing=p.get("label_smoothing", 0.0))),
        "nll": ({}, lambda x, y, p: F.nll_loss(x, y, reduction=p["reduction"])),
        "multi_margin": ({"p": 1, "margin": 1.0}, lambda x, y, p: F.multi_margin_loss(x, y, p=p["p"], margin=p["margin"], reduction=p["reduction"])),
        "softmax_focal": ({"gamma": 2.0, "alpha": 0.25},
                          lambda x, y, p: det.softmax_focal(x, y, p["alpha"], p["gamma"], None, None, -100, p["reduction"])),
    }
    for loss, (base, fn) in specs.items():
        for kind, (n, c), reduction in [("random", (5, 7), "none"), ("random_mean", (6, 9), "mean"),
                                        ("large_classes", (2, 4096), "mean"), ("large_rows", (4096, 3), "sum"),
                                        ("extreme", (4, 6), "none")]:
            p = dict(base, reduction=reduction)
            if loss == "cross_entropy" and kind == "random_mean":
                p["label_smoothing"] = 0.1
            period = None
            if kind == "large_rows":
                px, py = ce_rows(16, c, "random"), torch.randint(0, c, (16,), dtype=I64)
                x, y, period = tile(px, n // 16), tile(py, n // 16), 16
            else:
                x, y = ce_rows(n, c, "extreme" if kind == "extreme" else "random"), torch.randint(0, c, (n,), dtype=I64)
            if loss == "nll":
                x = h(torch.log_softmax(x, dim=1)) if kind != "extreme" else h(-x.abs())
            col.add(loss, kind, p, {"input": x, "target": y}, ["input"], lambda ts, fn=fn, p=p: fn(ts["input"], ts["target"], p), period=period)


def cosines(n, c, kind):
    if kind == "extreme":
        cos = huniform(-1.0, 1.0, n, c)
        cos[0, :3] = torch.tensor([1.0, -1.0, 1 - 2 ** -11], dtype=F64)[: min(3, c)]
        cos[1 % n, 0] = -1 + 2 ** -11
        cos[2 % n, 1 % c] = 6.1035e-05
        return cos
    return huniform(-0.9, 0.9, n, c)


def gen_margins(col):
    forms = {
        "angular_margin": ({"scale": 64.0, "m1": 1.0, "m2": 0.5, "m3": 0.0, "fallback": "threshold", "gradient": "exact"}, None),
        "arcface": ({"scale": 64.0, "margin": 0.5}, {"m1": 1.0, "m2": 0.5, "m3": 0.0, "fallback": "threshold"}),
        "cosface": ({"scale": 64.0, "margin": 0.35}, {"m1": 1.0, "m2": 0.0, "m3": 0.35, "fallback": "none"}),
        "sphereface": ({"scale": 64.0, "margin": 4.0}, {"m1": 4.0, "m2": 0.0, "m3": 0.0, "fallback": "monotonic"}),
    }
    for entry, (params, margins) in forms.items():
        for kind, (n, c), reduction in [("random", (5, 7), "none"), ("large_classes", (2, 4096), "mean"),
                                        ("large_rows", (4096, 5), "mean"), ("extreme", (4, 6), "sum")]:
            m = dict(margins or params, gradient="exact", scale=64.0, reduction=reduction)
            period = None
            if kind == "large_rows":
                pc, py = cosines(16, c, "random"), torch.randint(0, c, (16,), dtype=I64)
                cos, y, period = tile(pc, n // 16), tile(py, n // 16), 16
            else:
                cos, y = cosines(n, c, kind), torch.randint(0, c, (n,), dtype=I64)
            col.add(entry, kind, dict(params, reduction=reduction), {"input": cos, "target": y}, ["input"],
                    lambda ts, m=m: met.margin_loss(ts["input"], ts["target"], m), period=period)


# ----------------------------------------------------------------------------
# boxes, scored rows, bins
# ----------------------------------------------------------------------------

BOX_ENTRIES = {
    # entry: (params, golden box id for det.make_box_fn, its params)
    "iou": ({"mode": "linear", "convention": "mmdetection", "eps": 1e-6}, "iou_mmdet", {"mode": "linear", "eps": 1e-6}),
    "giou": ({"eps": 1e-7}, "giou", {"eps": 1e-7, "in_fmt": "xyxy"}),
    "diou": ({"eps": 1e-7}, "diou", {"eps": 1e-7, "in_fmt": "xyxy"}),
    "ciou": ({"eps": 1e-7}, "ciou", {"eps": 1e-7, "in_fmt": "xyxy"}),
    "eiou": ({"eps": 1e-7}, "eiou_efficient", {"eps": 1e-7}),
    "siou": ({"eps": 1e-6}, "siou_mmdet", {"eps": 1e-6, "neg_gamma": False}),
    "extended_iou": ({"eps": 1e-6, "smooth_point": 0.1}, "eiou_mmdet", {"eps": 1e-6, "smooth_point": 0.1}),
}


def boxes_near(n, lo, hi, smin, smax):
    x1 = huniform(lo, hi, n)
    y1 = huniform(lo, hi, n)
    w = huniform(smin, smax, n)
    hh = huniform(smin, smax, n)
    p = torch.stack([x1, y1, h(x1 + w), h(y1 + hh)], 1)
    d = hrandn(n, 4, scale=smin * 0.3)
    t = torch.stack([h(p[:, 0] + d[:, 0]), h(p[:, 1] + d[:, 1]), h(p[:, 2] + d[:, 2].abs() + smin * 0.1), h(p[:, 3] + d[:, 3].abs() + smin * 0.1)], 1)
    return p, t


def extreme_boxes():
    p = torch.tensor([[0, 0, 300, 300], [0, 0, 200, 200], [60000, 60000, 60300, 60160], [0, 0, 6.1035e-05, 6.1035e-05],
                      [10, 10, 20, 2000], [-300, -250, 310, 290]], dtype=F64)
    t = torch.tensor([[10, 10, 310, 310], [10, 10, 210, 210], [60032, 60000, 60256, 60288], [0, 0, 1.2207e-04, 1.2207e-04],
                      [12, 8, 22, 1900], [-250, -300, 300, 310]], dtype=F64)
    return h(p), h(t)


def gen_boxes(col):
    for entry, (params, golden, gparams) in BOX_ENTRIES.items():
        fn = det.make_box_fn(golden, gparams)
        for kind, reduction in [("random", "none"), ("random_mean", "mean"), ("large", "sum"), ("extreme", "none"), ("extreme_mean", "mean")]:
            period = None
            if kind.startswith("extreme"):
                p, t = extreme_boxes()
            elif kind == "large":
                pp, pt = boxes_near(16, 0.0, 100.0, 4.0, 40.0)
                p, t, period = tile(pp, 256), tile(pt, 256), 16
            else:
                p, t = boxes_near(9, 0.0, 100.0, 4.0, 40.0)
            pr = dict(params, reduction=reduction)
            col.add(entry, kind, pr, {"input": p, "target": t}, ["input"],
                    lambda ts, fn=fn, r=reduction: fn(ts["input"], ts["target"], r), period=period)


def gen_scored_and_bins(col):
    for kind, (n, c), reduction in [("random", (6, 5), "none"), ("large", (4096, 4), "mean"), ("extreme", (4, 3), "sum")]:
        period = None
        if kind == "large":
            px, pl, ps = hrandn(16, c, scale=2.0), torch.randint(-1, c + 1, (16,), dtype=I64), huniform(0.0, 1.0, 16)
            x, labels, scores, period = tile(px, n // 16), tile(pl, n // 16), tile(ps, n // 16), 16
        else:
            x = hrandn(n, c, scale=2.0)
            if kind == "extreme":
                x[0, 0], x[1, 1], x[2, 2], x[3, 0] = 60000.0, -60000.0, 6.1035e-05, 20.0
            labels, scores = torch.randint(-1, c + 1, (n,), dtype=I64), huniform(0.0, 1.0, n)
            if kind == "extreme":
                scores[0], scores[1] = 6.1035e-05, 5.96e-08
        p = {"beta": 2.0, "reduction": reduction}
        col.add("quality_focal", kind, p, {"input": x, "labels": labels, "scores": scores}, ["input"],
                lambda ts, p=p: det.quality_focal(ts["input"], ts["labels"], ts["scores"], p["beta"], None, p["reduction"], None), period=period)

    for kind, (n, bins), reduction in [("random", (6, 8), "none"), ("large", (4096, 17), "mean"), ("extreme", (3, 5), "sum")]:
        period = None
        if kind == "large":
            px, py = hrandn(16, bins, scale=2.0), huniform(0.0, bins - 1.001, 16)
            x, y, period = tile(px, n // 16), tile(py, n // 16), 16
        else:
            x, y = hrandn(n, bins, scale=2.0), huniform(0.0, bins - 1.001, n)
            if kind == "extreme":
                x[0, 0], x[1, 2], x[2, :] = 60000.0, -60000.0, 6.1035e-05
                y[0], y[1] = 6.1035e-05, bins - 1 - 2 ** -8
        p = {"reduction": reduction}
        col.add("distribution_focal", kind, p, {"input": x, "target": h(y)}, ["input"],
                lambda ts, p=p: det.distribution_focal(ts["input"], ts["target"], None, p["reduction"], None), period=period)


# ----------------------------------------------------------------------------
# metric learning: cosine head, centre loss, cosine embedding
# ----------------------------------------------------------------------------

def gen_metric(col):
    for kind, (n, c, d) in [("random", (5, 7, 6)), ("large_dim", (2, 3, 2048)), ("extreme", (3, 4, 5))]:
        x, w = hrandn(n, d, scale=2.0), hrandn(c, d, scale=0.5)
        if kind == "extreme":
            x[0, :] = 300.0
            x[1, :] = 6.1035e-05
            w[0, :] = -250.0
            w[1, :] = 5.96e-08
        col.add("cosine_head", kind, {"eps": 1e-12}, {"input": x, "weight": w}, ["input", "weight"],
                lambda ts: met.head(ts["input"], ts["weight"]))

    for kind, (n, c, d), reduction in [("random", (6, 4, 5), "none"), ("large_dim", (2, 1, 8192), "mean"),
                                       ("large_rows", (4096, 3, 4), "mean"), ("extreme", (3, 3, 4), "sum")]:
        period = None
        cen = hrandn(c, d, scale=0.5)
        if kind == "large_rows":
            px, py = hrandn(16, d), torch.randint(0, c, (16,), dtype=I64)
            x, y, period = tile(px, n // 16), tile(py, n // 16), 16
        else:
            x, y = hrandn(n, d), torch.randint(0, c, (n,), dtype=I64)
        if kind == "large_dim":
            x, cen = torch.ones(n, d, dtype=F64), torch.zeros(c, d, dtype=F64)
        if kind == "extreme":
            x[0, :] = 200.0
            x[1, :] = 6.1035e-05
            cen[1, :] = -100.0
        p = {"convention": "paper", "reduction": reduction}
        col.add("center", kind, p, {"input": x, "target": y, "centers": cen}, ["input", "centers"],
                lambda ts, r=reduction: met.center_paper(ts["input"], ts["target"], ts["centers"], r), period=period)

    for kind, (n, d), reduction, margin in [("random", (6, 5), "none", 0.0), ("random_margin", (7, 4), "mean", 0.3),
                                            ("large_dim", (2, 4096), "mean", 0.0), ("extreme", (3, 4), "sum", 0.1)]:
        a, b = hrandn(n, d), hrandn(n, d)
        y = signs(n)
        if kind == "extreme":
            a[0, :], b[0, :] = 300.0, -250.0
            a[1, :] = torch.tensor([6.1035e-05, -6.1035e-05, 1.2207e-04, 3.0e-05], dtype=F64)
            b[1, :] = torch.tensor([3.0e-05, 6.1035e-05, -1.2207e-04, 6.1035e-05], dtype=F64)
            y[:2] = torch.tensor([1.0, -1.0], dtype=F64)
        p = {"margin": margin, "reduction": reduction}
        col.add("cosine_embedding", kind, p, {"input1": a, "input2": b, "target": y}, ["input1", "input2"],
                lambda ts, p=p: F.cosine_embedding_loss(ts["input1"], ts["input2"], ts["target"], margin=p["margin"], reduction=p["reduction"]))


# ----------------------------------------------------------------------------
# criteria
# ----------------------------------------------------------------------------

def gen_retinanet(col):
    matcher = det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=True)
    for tag, counts, size, stride, classes, loss_type in [("small", [3, 0], 64, 16, 4, "l1"), ("giou", [2], 48, 16, 3, "giou"),
                                                          ("large_image", [3], 640, 160, 3, "ciou")]:
        for _ in range(200):
            anchors = crit.grid_anchors(size, stride, crit.RETINA_SHAPES if size < 100 else [(s * 10, t * 10) for s, t in crit.RETINA_SHAPES])
            gts = [h(crit.near_truths(anchors, c)) for c in counts]
            m64 = crit.retina_matches(matcher, anchors, gts)
            m16 = crit.retina_matches(matcher, h(anchors).to(F32), [g.to(F32) for g in gts])
            if torch.equal(h(anchors), anchors) and all(torch.equal(a, b) for a, b in zip(m64, m16)):
                break
        else:
            raise RuntimeError("no Half-stable retinanet inputs")
        labels = [torch.randint(0, classes, (c,), dtype=I64) for c in counts]
        targets = [{"boxes": g, "labels": l} for g, l in zip(gts, labels)]
        a = anchors.shape[0]
        logits = hrandn(len(counts), a, classes, scale=2.0) - 2.0
        regression = hrandn(len(counts), a, 4, scale=0.4)

        def fn(ts, targets=targets, anchors=anchors, counts=counts, classes=classes, loss_type=loss_type):
            head = RetinaNetHead(4, 9, classes)
            head.regression_head._loss_type = loss_type
            fake = types.SimpleNamespace(proposal_matcher=matcher, head=head)
            dt = ts["class_logits"].dtype
            tg = [{"boxes": t["boxes"].to(dt), "labels": t["labels"]} for t in targets]
            losses = RetinaNet.compute_loss(fake, tg, {"cls_logits": ts["class_logits"], "bbox_regression": ts["box_regression"]},
                                            [anchors.to(dt)] * len(counts))
            return losses["classification"] + losses["bbox_regression"]
        col.add("retinanet", tag, {"box_loss": loss_type},
                {"class_logits": h(logits), "box_regression": regression, "anchors": anchors, "gt_boxes": torch.cat(gts),
                 "gt_labels": torch.cat(labels), "gt_counts": crit.split_counts(counts)},
                ["class_logits", "box_regression"], fn)


def gen_rpn(col):
    rpn = crit.make_rpn()
    for tag, counts, size, stride in [("mixed", [0, 1, 5], 64, 16), ("one_image", [4], 48, 8)]:
        for _ in range(200):
            anchors, gts = crit.rpn_inputs(counts, size, stride)
            gts = [h(g) for g in gts]
            targets = [{"boxes": g} for g in gts]
            if crit.rpn_labels_f32_agree(rpn, anchors, targets):
                break
        labels, matched = rpn.assign_targets_to_anchors([anchors] * len(gts), targets)
        assert anchors.shape[0] <= 256 and all(int((l >= 1).sum()) <= 128 for l in labels)
        n_all = anchors.shape[0] * len(gts)

        def fn(ts, anchors=anchors, gts=gts):
            dt = ts["objectness"].dtype
            lab, mat = rpn.assign_targets_to_anchors([anchors.to(dt)] * len(gts), [{"boxes": g.to(dt)} for g in gts])
            reg = rpn.box_coder.encode(mat, [anchors.to(dt)] * len(gts))
            lo, lb = rpn.compute_loss(ts["objectness"].reshape(-1, 1), ts["deltas"], [l.to(dt) for l in lab], reg)
            return lo + lb
        col.add("faster_rcnn_rpn", tag, {}, {"objectness": hrandn(n_all, scale=2.0), "deltas": hrandn(n_all, 4, scale=0.3),
                                             "anchors": anchors, "gt_boxes": torch.cat(gts), "gt_counts": crit.split_counts(counts)},
                ["objectness", "deltas"], fn)


def gen_roi(col):
    for tag, s, classes, frac in [("s30_c6", 30, 6, 0.4), ("s24_c81", 24, 81, 0.25), ("extreme", 6, 3, 0.5)]:
        logits, box = hrandn(s, classes, scale=2.0), hrandn(s, 4 * classes, scale=0.5)
        labels = torch.where(torch.rand(s) < frac, torch.randint(1, classes, (s,), dtype=I64), torch.zeros(s, dtype=I64))
        targets = hrandn(s, 4, scale=0.5)
        if tag == "extreme":
            logits[0, 0], logits[1, 1] = 60000.0, -60000.0
            labels[:3] = torch.tensor([1, 2, 1])
            targets[0, :] = 6.1035e-05
            box[0, 4:8] = 200.0
        col.add("faster_rcnn_roi", tag, {},
                {"class_logits": logits, "box_regression": box, "labels": labels, "regression_targets": targets},
                ["class_logits", "box_regression"],
                lambda ts: sum(fastrcnn_loss(ts["class_logits"], ts["box_regression"], [ts["labels"]], [ts["regression_targets"]])))


def gen_yolo(col):
    for tag, counts, classes, netw, neth, variant in [("darknet", [0, 3], 4, 96, 64, "darknet"), ("ultralytics", [2, 1], 3, 64, 64, "ultralytics_giou")]:
        anchors = crit.SMALL_ANCHORS
        for _ in range(400):
            boxes, labels = crit.yolo_truths(counts, classes, anchors, netw, neth)
            boxes = h(boxes)
            outs = [h(o) for o in crit.yolo_outputs(len(counts), classes, netw, neth, 1.0)]
            if crit.well_separated(outs, boxes, labels, counts, anchors, netw, neth, classes):
                break
        else:
            raise RuntimeError("no well-separated Half yolo inputs")

        def fn(ts, boxes=boxes, labels=labels, counts=counts, classes=classes, netw=netw, neth=neth, variant=variant):
            xs = [ts["output0"], ts["output1"], ts["output2"]]
            if variant == "darknet":
                terms = crit.yolo_darknet_reference(xs, boxes, labels, counts, anchors, netw, neth, classes, 0.7)
            else:
                terms = crit.yolo_ultralytics_reference(xs, boxes, labels, counts, anchors, classes, box_loss="giou")
            return sum(terms)
        params = {"classes": classes, "input_width": netw, "input_height": neth, "ignore_threshold": 0.7, "variant": variant.split("_")[0],
                  "anchors": [float(v) for pair in anchors for v in pair]}
        if variant != "darknet":
            params["box_loss"] = "giou"
        col.add("yolov3", tag, params, {"output0": outs[0], "output1": outs[1], "output2": outs[2], "gt_boxes": boxes, "gt_labels": labels,
                                        "gt_counts": crit.split_counts(counts)}, ["output0", "output1", "output2"], fn, f64_only=True)


def main():
    col = Cases()
    gen_elementwise(col)
    gen_kl(col)
    gen_class_index(col)
    gen_margins(col)
    gen_boxes(col)
    gen_scored_and_bins(col)
    gen_metric(col)
    gen_retinanet(col)
    gen_rpn(col)
    gen_roi(col)
    gen_yolo(col)
    path = REFERENCE_DIR + "/half.json"
    write(path, "tests/reference/generate_half.py", col.cases)
    entries = sorted({c["entry"] for c in col.cases})
    print("%d cases over %d entries (%d torch half, %d float32)" % (len(col.cases), len(entries), col.stats["torch_half"], col.stats["float32"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
