#!/usr/bin/python3
"""Reference-value generator for the metric-learning family of the LossKit test suite.

Run with Debian's python3 (python3-torch 1.13):

    /usr/bin/python3 tests/reference/generate_metric.py

It writes, relative to the repository root:

    tests/LossKit.Tests/Reference/metric.json

Format (strict JSON, same conventions as tests/reference/generate.py; non-finite
floats are written as the strings "NaN", "Infinity", "-Infinity"):

    { "generator": "tests/reference/generate_metric.py", "torch": "<version>",
      "cases": [ CASE, ... ] }

    CASE = { "name", "loss", "params",
             "input", ["target"], ["weight"], ["centers"],
             ["upstream"], "value", ["grad_input"], ["grad_weight"], ["grad_centers"],
             ["centers_after"], ["counts"], ["parts"] }

Every tensor is { "shape": [...], "data": [flat row-major values] }; a scalar
has shape [] and one element; class labels and counts are JSON integers.

* Margin losses ("arcface", "arcface_easy", "cosface", "combined_margin",
  "sphereface", "pml_arcface", "insightface"): input = cosines [N, C], target
  [N]; params give scale, m1, m2, m3, fallback, gradient, reduction.
  grad_input = d(sum(value * upstream)) / d input.
* "cosine_head": input x [N, D], weight W [C, D]; value = cos [N, C];
  upstream [N, C]; grad_input, grad_weight = d(sum(cos * upstream)) / d x, W.
* "head_margin": the cosine head followed by a margin loss (params as above);
  value scalar; grad_input / grad_weight w.r.t. x / W (upstream scalar).
* "center" (convention "paper" or "kaiyangzhou"): input x [N, D], target [N],
  centers [C, D]; grad_input, grad_centers.
* "center_update": input, target, centers (before), params alpha;
  centers_after and counts (no value gradient; value is a scalar 0).
* "center_objective": input x, weight W, target, centers; params lambda, head
  ("linear" with cross-entropy or "cosine" with ArcFace s, m); value = total,
  parts = [classification, center]; grad_input, grad_weight, grad_centers
  (the latter = lambda * d center / d centers).

All input data is float32-representable (drawn in float32 and widened, or exact
constants such as 0, +-1, -0.95) and all computation is float64.

The reference implementations below are plain PyTorch written from the formulas
in /work/shared/REFERENCES.md section 4 (insightface classic and current,
pytorch-metric-learning v2.8.1 ArcFace / SphereFace, the center-loss paper and
KaiyangZhou/pytorch-center-loss), with autograd for every gradient. LossKit's
documented choices are mirrored where the references leave a point open or give
NaN: sin(theta) = sqrt(clamp(1 - c^2, min=1e-12)) in the m1 = 1 expansion, and
d theta / d c = -1 / sqrt(clamp(1 - c^2, min=1e-12)) for the angle form with a
non-integer m1 (a straight-through term on top of acos). Integer m1 with m2 = 0
uses pytorch-metric-learning's binomial multiple-angle expansion.

Deterministic: all randomness comes from torch's global generator seeded once.
"""

import math
import os
import sys
import warnings

import torch
import torch.nn.functional as F

from refcommon import (F32, F64, I64, REDUCTIONS, REFERENCE_DIR, CaseList, check_f32, enc, f32, load_strict,
                       nonfinite_cases, print_summary, randint, randn, reduce, uniform, upstream_for, vjp, write)

warnings.filterwarnings("ignore")
torch.manual_seed(20240613)

SIN_EPS = 1e-12          # LossKit's floor under 1 - cos^2
NORM_EPS = 1e-12         # F.normalize eps
CLAMP_LO, CLAMP_HI = 1e-12, 1e12  # KaiyangZhou clamp
IF_FLOOR = 1e-30         # insightface's probability floor

OUT = os.path.join(REFERENCE_DIR, "metric.json")


# ----------------------------------------------------------------------------
# margin target functions T(c) (the target logit is s * T(c))
# ----------------------------------------------------------------------------

def sine_clamped(c):
    return torch.sqrt(torch.clamp(1.0 - c * c, min=SIN_EPS))


def binomial_cos(c, m):
    """cos(m * acos(c)) for integer m: sum_n (-1)^n C(m, 2n) c^(m-2n) (1 - c^2)^n (pml)."""
    total = torch.zeros_like(c)
    for n in range(m // 2 + 1):
        total = total + ((-1) ** n) * math.comb(m, 2 * n) * c ** (m - 2 * n) * (1 - c * c) ** n
    return total


def angle_with_clamped_derivative(cc):
    """acos(cc) in value, d/dcc = -1/sqrt(clamp(1 - cc^2, min=eps)) in gradient."""
    theta = torch.acos(cc).detach()
    s = sine_clamped(cc).detach()
    return theta - (cc - cc.detach()) / s


def target_fn(c, m1, m2, m3, fallback):
    """T(c) for a vector of target cosines, differentiable with autograd."""
    if m1 == 1.0:
        s = sine_clamped(c)
        phi = c * math.cos(m2) - s * math.sin(m2)      # cos(theta + m2)
        th = math.cos(math.pi - m2)
        mm = math.sin(math.pi - m2) * m2
        if fallback == "none":
            return phi - m3
        if fallback == "threshold":                      # insightface classic
            return torch.where(c > th, phi - m3, c - mm - m3)
        if fallback == "easy":
            return torch.where(c > 0, phi - m3, c)
        if fallback == "monotonic":
            with torch.no_grad():
                k = torch.floor((torch.acos(torch.clamp(c, -1, 1)) + m2) / math.pi)
            sign = 1 - 2 * torch.remainder(k, 2)
            return sign * phi - 2 * k - m3
        raise ValueError(fallback)

    cc = torch.clamp(c, -1.0, 1.0)
    if m2 == 0.0 and float(m1).is_integer():
        cos_u = binomial_cos(cc, int(m1))
        with torch.no_grad():
            u = m1 * torch.acos(cc)
    else:
        u = m1 * angle_with_clamped_derivative(cc) + m2
        cos_u = torch.cos(u)
    if fallback == "none":
        return cos_u - m3
    if fallback == "monotonic":
        with torch.no_grad():
            k = torch.floor(u / math.pi)
        sign = 1 - 2 * torch.remainder(k, 2)
        return sign * cos_u - 2 * k - m3
    if fallback == "easy":
        return torch.where(c > 0, cos_u - m3, c)
    raise ValueError(fallback)


def pml_arcface_target(c, m):
    """pytorch-metric-learning ArcFaceLoss.modify_cosine_of_target_classes (v2.8.1)."""
    angles = torch.acos(torch.clamp(c, -1, 1))
    return torch.where(angles <= math.pi - m, torch.cos(angles + m), torch.cos(angles) - m * math.sin(m))


def margin_logits(cos, y, s, tgt):
    """s * cos with the target column replaced by s * tgt (tgt = T(c_y), shape [N])."""
    mask = F.one_hot(y, cos.shape[1]).to(torch.bool) if cos.shape[0] > 0 else torch.zeros_like(cos, dtype=torch.bool)
    return s * torch.where(mask, tgt.unsqueeze(1).expand_as(cos), cos)


def margin_loss(cos, y, p):
    """The LossKit AngularMarginLoss with params p, as a plain torch graph."""
    s, m1, m2, m3 = p["scale"], p["m1"], p["m2"], p["m3"]
    red = p["reduction"]
    cy = cos.gather(1, y.view(-1, 1)).view(-1) if cos.shape[0] > 0 else cos.new_zeros(0)
    if p["gradient"] == "insightface":
        # insightface arcface_torch today: acos -> + m2 -> cos under no_grad (ArcFace), c - m3 tracked (CosFace);
        # its CE: value -ln max(p_y, 1e-30), gradient (p - onehot)/N.
        with torch.no_grad():
            arc = torch.cos(torch.acos(cy) + m2) if m2 != 0.0 else cy.clone()
        tgt = cy + (arc - cy).detach() - m3
        z = margin_logits(cos, y, s, tgt)
        ce = F.cross_entropy(z, y, reduction="none") if cos.shape[0] > 0 else z.new_zeros(0)
        with torch.no_grad():
            prob = torch.softmax(z, dim=1).gather(1, y.view(-1, 1)).view(-1) if cos.shape[0] > 0 else z.new_zeros(0)
            floored = -torch.log(torch.clamp(prob, min=IF_FLOOR))
        per_row = ce + (floored - ce).detach()
        return reduce(per_row, red)
    if p["fallback"] == "threshold_inclusive":
        tgt = pml_arcface_target(cy, m2) - m3
    else:
        tgt = target_fn(cy, m1, m2, m3, p["fallback"])
    z = margin_logits(cos, y, s, tgt)
    if cos.shape[0] == 0:
        return reduce(z.new_zeros(0), red)
    return F.cross_entropy(z, y, reduction=red)


def margin_params(preset, reduction, **kw):
    p = {"scale": 64.0, "m1": 1.0, "m2": 0.0, "m3": 0.0, "fallback": "none", "gradient": "exact", "reduction": reduction}
    p.update(kw)
    return p


def add_margin(col, loss, tag, cos, y, p):
    name = "%s/%s/%s/n=%d,c=%d" % (loss, tag, p["reduction"], cos.shape[0], cos.shape[1])
    check_f32(name, "input", cos)
    x = cos.detach().clone().requires_grad_(True)
    value = margin_loss(x, y, p)
    up = upstream_for(value)
    (g,) = vjp(value, up, [x], enabled=x.numel() > 0)
    col.append({"name": name, "loss": loss, "params": p, "input": enc(cos), "target": enc(y, as_int=True),
                "upstream": enc(up), "value": enc(value), "grad_input": enc(g)})


def random_cosines(n, c, lo=-1.0, hi=1.0):
    return uniform(lo, hi, n, c)


def with_targets(cos, y, values):
    """Set cos[i, y_i] = values[i % len(values)] (float32-representable constants)."""
    cos = cos.clone()
    for i in range(cos.shape[0]):
        cos[i, y[i]] = float(torch.tensor(values[i % len(values)], dtype=F32))
    return cos


SHAPES = [(0, 5), (1, 1), (1, 2), (3, 7), (7, 16), (17, 33), (5, 65), (4, 257)]
# Target cosines that cover both sides of every branch: theta + m > pi (c < th = -0.8776 for m = 0.5), easy
# margin (c <= 0), c = 0 exactly, and ordinary angles.
SPECIAL_TARGETS = [-0.99, -0.95, -0.9, -0.5, 0.0, 0.25, 0.75, 0.98]
EDGE_TARGETS = [1.0, -1.0]


def gen_margins(col):
    def sweep(loss, make_params, specials=True, edges=True):
        for i, (n, c) in enumerate(SHAPES):
            reds = REDUCTIONS if (n, c) in ((0, 5), (17, 33)) else [REDUCTIONS[i % 3]]
            for red in reds:
                p = make_params(red)
                y = randint(0, c, n)
                cos = random_cosines(n, c)
                add_margin(col, loss, "random", cos, y, p)
                if specials and n > 0:
                    add_margin(col, loss, "branches", with_targets(random_cosines(n, c), y, SPECIAL_TARGETS), y, p)
        if edges:
            # |cos| = 1 exactly, for the target and for other classes.
            n, c = 6, 9
            y = randint(0, c, n)
            cos = with_targets(random_cosines(n, c), y, EDGE_TARGETS)
            cos[0, (y[0] + 1) % c] = 1.0
            cos[1, (y[1] + 2) % c] = -1.0
            for red in REDUCTIONS:
                add_margin(col, loss, "unit", cos, y, make_params(red))
        # all-same-label batch and a wide row (s = 64 with many classes must not overflow)
        y = torch.full((9,), 3, dtype=I64)
        add_margin(col, loss, "same_label", random_cosines(9, 11), y, make_params("mean"))
        y = randint(0, 1000, 2)
        add_margin(col, loss, "wide", random_cosines(2, 1000), y, make_params("mean"))
        # a target far below its competitors (p_y ~ 0) and far above (p_y ~ 1)
        y = torch.tensor([0, 1, 2, 3], dtype=I64)
        cos = random_cosines(4, 8, -0.2, 0.2)
        cos[0, 0], cos[0, 5] = -0.875, 0.9375
        cos[1, 1] = 0.984375
        cos[2, 2], cos[2, 6] = -0.984375, 1.0
        cos[3, 3] = 0.5
        add_margin(col, loss, "saturated", cos, y, make_params("mean"))

    sweep("arcface", lambda r: margin_params("arcface", r, m2=0.5, fallback="threshold"))
    sweep("arcface_easy", lambda r: margin_params("arcface", r, m2=0.5, fallback="easy"))
    sweep("cosface", lambda r: margin_params("cosface", r, m3=0.35))
    sweep("combined_margin", lambda r: margin_params("combined", r, m2=0.3, m3=0.2, fallback="none"))
    # extra combined forms, each on the special targets
    for tag, kw in [("mono_m2", dict(scale=30.0, m2=0.5, fallback="monotonic")),
                    ("m1_1.35_m2_0.25", dict(scale=32.0, m1=1.35, m2=0.25, m3=0.1, fallback="none")),
                    ("m1_2_m2_0.2_mono", dict(scale=16.0, m1=2.0, m2=0.2, fallback="monotonic")),
                    ("m1_1.5_easy", dict(scale=20.0, m1=1.5, fallback="easy")),
                    ("cosface_0.4", dict(m3=0.4)),
                    ("none_m2_0.5", dict(m2=0.5, fallback="none"))]:
        for red in REDUCTIONS:
            y = randint(0, 13, 11)
            add_margin(col, "combined_margin", tag + "/branches", with_targets(random_cosines(11, 13), y, SPECIAL_TARGETS), y,
                       margin_params("combined", red, **kw))
        y = randint(0, 9, 6)
        cos = with_targets(random_cosines(6, 9), y, EDGE_TARGETS)
        add_margin(col, "combined_margin", tag + "/unit", cos, y, margin_params("combined", "mean", **kw))

    sweep("sphereface", lambda r: margin_params("sphereface", r, m1=4.0, fallback="monotonic"))
    for tag, kw in [("m1_1.5", dict(scale=30.0, m1=1.5, fallback="monotonic")),
                    ("m1_3_s1", dict(scale=1.0, m1=3.0, fallback="monotonic")),
                    ("m1_1.7_none", dict(scale=30.0, m1=1.7, fallback="none"))]:
        for red in REDUCTIONS:
            y = randint(0, 13, 11)
            add_margin(col, "sphereface", tag + "/branches", with_targets(random_cosines(11, 13), y, SPECIAL_TARGETS), y,
                       margin_params("sphereface", red, **kw))
        y = randint(0, 9, 6)
        cos = with_targets(random_cosines(6, 9), y, EDGE_TARGETS)
        add_margin(col, "sphereface", tag + "/unit", cos, y, margin_params("sphereface", "mean", **kw))

    # pytorch-metric-learning: margin 28.6 degrees, computed through acos as that library does. Its gradient at
    # |cos| = 1 is not finite, so no "unit" edge cases here (LossKit's own convention is tested in the arcface cases).
    pml_m = math.radians(28.6)
    sweep("pml_arcface", lambda r: margin_params("pml", r, m2=pml_m, fallback="threshold_inclusive", margin_degrees=28.6), edges=False)

    # insightface today: margin without gradient, p floor 1e-30. No |cos| = 1 (insightface's acos/cos path and the
    # expansion differ there by the documented 1e-6 sin m).
    sweep("insightface", lambda r: margin_params("insightface", r, m2=0.5, fallback="none", gradient="insightface"), edges=False)
    for red in REDUCTIONS:
        y = randint(0, 13, 11)
        add_margin(col, "insightface", "cosface/branches", with_targets(random_cosines(11, 13), y, SPECIAL_TARGETS), y,
                   margin_params("insightface", red, m3=0.4, fallback="none", gradient="insightface"))
    # saturation: p_y < 1e-30 in some rows (the value is floored at 69.0776, the gradient is not)
    y = torch.tensor([0, 1, 2], dtype=I64)
    cos = random_cosines(3, 6, -0.1, 0.1)
    cos[0, 0], cos[0, 3] = -1.0 + 2.0 ** -20, 1.0
    cos[1, 1], cos[1, 4] = -0.5, 0.75
    cos[2, 2] = 0.5
    for red in REDUCTIONS:
        add_margin(col, "insightface", "saturated", cos, y, margin_params("insightface", red, m2=0.5, fallback="none", gradient="insightface"))


def gen_margin_m3_fallbacks(col):
    """The additive margin m3 inside every fallback branch (threshold, inclusive threshold, monotonic at m1 = 1 and
    m1 = 2): generated last, so the cases before keep their random inputs."""
    for tag, kw in [("thr_m3", dict(scale=24.0, m2=0.5, m3=0.15, fallback="threshold")),
                    ("incl_m3", dict(scale=24.0, m2=0.5, m3=0.15, fallback="threshold_inclusive")),
                    ("mono_m3", dict(scale=24.0, m2=0.5, m3=0.15, fallback="monotonic")),
                    ("m1_2_mono_m3", dict(scale=16.0, m1=2.0, m2=0.2, m3=0.1, fallback="monotonic"))]:
        for red in REDUCTIONS:
            y = randint(0, 13, 11)
            add_margin(col, "combined_margin", tag + "/branches", with_targets(random_cosines(11, 13), y, SPECIAL_TARGETS), y,
                       margin_params("combined", red, **kw))
        if kw["fallback"] != "threshold_inclusive":  # pytorch-metric-learning's acos form has no gradient at |cos| = 1
            y = randint(0, 9, 6)
            cos = with_targets(random_cosines(6, 9), y, EDGE_TARGETS)
            add_margin(col, "combined_margin", tag + "/unit", cos, y, margin_params("combined", "mean", **kw))


def gen_margin_out_of_range(col):
    """Target cosines just outside [-1, 1] (what rounding in normalised dot products gives) on the angle paths
    (m1 != 1): the reference clamps them (torch.clamp), so their derivative is 0. Generated after the m3 cases."""
    values = [1.0 + 2.0 ** -20, -1.0 - 2.0 ** -20, 1.0009765625, -1.0009765625, 0.5, -0.25]
    for loss, tag, kw in [("sphereface", "m1_4_mono", dict(m1=4.0, fallback="monotonic")),
                          ("combined_margin", "m1_1.35_m2_0.25", dict(scale=32.0, m1=1.35, m2=0.25, m3=0.1, fallback="none")),
                          ("combined_margin", "m1_2_m2_0.2_mono", dict(scale=16.0, m1=2.0, m2=0.2, fallback="monotonic")),
                          ("combined_margin", "m1_1.5_easy", dict(scale=20.0, m1=1.5, fallback="easy"))]:
        y = randint(0, 7, 6)
        add_margin(col, loss, tag + "/outside", with_targets(random_cosines(6, 7), y, values), y, margin_params(loss, "mean", **kw))


# ----------------------------------------------------------------------------
# cosine head
# ----------------------------------------------------------------------------

def head(x, w):
    return F.normalize(x, dim=1, eps=NORM_EPS) @ F.normalize(w, dim=1, eps=NORM_EPS).t()


def gen_head(col):
    shapes = [(0, 3, 4), (2, 0, 3), (1, 1, 1), (3, 5, 7), (4, 6, 0), (17, 33, 9), (8, 150, 33), (5, 17, 300), (40, 30, 129)]
    for (n, c, d) in shapes:
        x = randn(n, d, scale=2.0)
        w = randn(c, d, scale=0.5)
        if n > 2 and d > 0:
            x[1] = 0.0                           # zero embedding: x / eps
        if c > 3 and d > 0:
            w[3] = 0.0
        add_head(col, "random", x, w)
    # tiny rows just above and below eps
    x = torch.tensor([[3e-13, 4e-13], [3e-12, 4e-12], [3.0, 4.0]], dtype=F64)
    x = f32(x)
    w = f32(torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]], dtype=F64))
    add_head(col, "tiny_norms", x, w)


def add_head(col, tag, x, w):
    n, d = x.shape
    c = w.shape[0]
    name = "cosine_head/%s/n=%d,c=%d,d=%d" % (tag, n, c, d)
    check_f32(name, "input", x)
    check_f32(name, "weight", w)
    xr = x.clone().requires_grad_(True)
    wr = w.clone().requires_grad_(True)
    cos = head(xr, wr)
    up = randn(n, c)
    gx, gw = vjp(cos, up, [xr, wr], enabled=cos.numel() > 0)
    col.append({"name": name, "loss": "cosine_head", "params": {"eps": NORM_EPS}, "input": enc(x), "weight": enc(w),
                "upstream": enc(up), "value": enc(cos), "grad_input": enc(gx), "grad_weight": enc(gw)})


def gen_head_margin(col):
    for (n, c, d, p) in [(5, 7, 6, margin_params("arcface", "mean", m2=0.5, fallback="threshold")),
                         (16, 40, 33, margin_params("arcface", "sum", m2=0.5, fallback="threshold")),
                         (9, 20, 17, margin_params("cosface", "mean", m3=0.35)),
                         (12, 25, 10, margin_params("sphereface", "mean", m1=4.0, fallback="monotonic"))]:
        x = randn(n, d)
        w = randn(c, d)
        y = randint(0, c, n)
        xr = x.clone().requires_grad_(True)
        wr = w.clone().requires_grad_(True)
        value = margin_loss(head(xr, wr), y, p)
        up = upstream_for(value)
        gx, gw = torch.autograd.grad(value * up, [xr, wr])
        name = "head_margin/%s/%s/n=%d,c=%d,d=%d" % (p["fallback"], p["reduction"], n, c, d)
        col.append({"name": name, "loss": "head_margin", "params": p, "input": enc(x), "weight": enc(w), "target": enc(y, as_int=True),
                    "upstream": enc(up), "value": enc(value), "grad_input": enc(gx), "grad_weight": enc(gw)})


# ----------------------------------------------------------------------------
# center loss
# ----------------------------------------------------------------------------

def center_paper(x, y, centers, red):
    diff = x - centers[y]
    return reduce(0.5 * (diff * diff).sum(dim=1), red)


def center_kaiyangzhou(x, y, centers, red):
    """KaiyangZhou/pytorch-center-loss center_loss.py, with per-row values for reduction 'none'."""
    b, c = x.shape[0], centers.shape[0]
    distmat = (x.pow(2).sum(dim=1, keepdim=True).expand(b, c)
               + centers.pow(2).sum(dim=1, keepdim=True).expand(c, b).t())
    distmat = distmat - 2.0 * (x @ centers.t())
    mask = F.one_hot(y, c).to(F64) if b > 0 else distmat.new_zeros(0, c)
    per_row = torch.clamp(distmat * mask, min=CLAMP_LO, max=CLAMP_HI).sum(dim=1)
    if red == "mean":
        return per_row.sum() / b if b > 0 else per_row.sum() / 0.0
    return reduce(per_row, red)


def add_center(col, tag, x, y, centers, convention, red):
    n, d = x.shape
    c = centers.shape[0]
    name = "center/%s/%s/%s/n=%d,c=%d,d=%d" % (convention, tag, red, n, c, d)
    check_f32(name, "input", x)
    check_f32(name, "centers", centers)
    xr = x.clone().requires_grad_(True)
    cr = centers.clone().requires_grad_(True)
    fn = center_paper if convention == "paper" else center_kaiyangzhou
    value = fn(xr, y, cr, red)
    up = upstream_for(value)
    gx, gc = vjp(value, up, [xr, cr], enabled=n > 0)
    col.append({"name": name, "loss": "center", "params": {"convention": convention, "reduction": red},
                "input": enc(x), "target": enc(y, as_int=True), "centers": enc(centers), "upstream": enc(up),
                "value": enc(value), "grad_input": enc(gx), "grad_centers": enc(gc)})


def gen_center(col):
    for convention in ("paper", "kaiyangzhou"):
        # REFERENCES.md's worked example
        x = torch.tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], dtype=F64)
        y = torch.tensor([1, 2, 1], dtype=I64)
        cen = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, -2.0], [5.0, 5.0]], dtype=F64)
        for red in REDUCTIONS:
            add_center(col, "worked", x, y, cen, convention, red)
        shapes = [(0, 3, 4), (1, 1, 1), (3, 5, 7), (17, 10, 9), (32, 33, 65), (20, 7, 129)]
        for i, (n, c, d) in enumerate(shapes):
            reds = REDUCTIONS if (n, c, d) in ((0, 3, 4), (17, 10, 9)) else [REDUCTIONS[i % 3]]
            for red in reds:
                x = randn(n, d)
                y = randint(0, c, n)
                cen = randn(c, d, scale=0.5)
                add_center(col, "random", x, y, cen, convention, red)
        # x equal to its center (distance 0: KaiyangZhou clamps to 1e-12 and passes no gradient), all the same label
        x = randn(6, 5)
        y = torch.tensor([2, 2, 2, 2, 2, 2], dtype=I64)
        cen = randn(4, 5)
        x[3] = cen[2]
        for red in REDUCTIONS:
            add_center(col, "same_label", x, y, cen, convention, red)


def gen_center_update(col):
    cases = [("worked", torch.tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], dtype=F64), torch.tensor([1, 2, 1], dtype=I64),
              torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, -2.0], [5.0, 5.0]], dtype=F64), 0.5)]
    for (n, c, d, alpha) in [(1, 1, 1, 0.5), (9, 4, 7, 0.5), (33, 10, 17, 1.0), (50, 40, 65, 0.1), (0, 3, 2, 0.5)]:
        cases.append(("random", randn(n, d), randint(0, c, n), randn(c, d), alpha))
    x = randn(8, 6)
    cases.append(("same_label", x, torch.full((8,), 1, dtype=I64), randn(3, 6), 0.6))
    for tag, x, y, cen, alpha in cases:
        n, d = x.shape
        c = cen.shape[0]
        counts = torch.bincount(y, minlength=c) if n > 0 else torch.zeros(c, dtype=I64)
        after = cen.clone()
        for j in range(c):
            sel = x[y == j]
            delta = (cen[j] - sel).sum(dim=0) / (1.0 + sel.shape[0])
            after[j] = cen[j] - alpha * delta
        name = "center_update/%s/n=%d,c=%d,d=%d,alpha=%g" % (tag, n, c, d, alpha)
        col.append({"name": name, "loss": "center_update", "params": {"alpha": alpha}, "input": enc(x), "target": enc(y, as_int=True),
                    "centers": enc(cen), "value": enc(torch.tensor(0.0, dtype=F64)), "centers_after": enc(after),
                    "counts": enc(counts, as_int=True)})


def gen_center_objective(col):
    for head_kind, (n, c, d), lam in [("linear", (6, 5, 4), 0.5), ("linear", (20, 13, 17), 0.01), ("cosine", (7, 9, 5), 0.1),
                                      ("cosine", (16, 30, 33), 0.008)]:
        x = randn(n, d)
        w = randn(c, d, scale=0.5)
        cen = randn(c, d, scale=0.5)
        y = randint(0, c, n)
        xr = x.clone().requires_grad_(True)
        wr = w.clone().requires_grad_(True)
        cr = cen.clone().requires_grad_(True)
        if head_kind == "linear":
            cls = F.cross_entropy(xr @ wr.t(), y)
            params = {"head": "linear", "lambda": lam}
        else:
            p = margin_params("arcface", "mean", m2=0.5, fallback="threshold")
            cls = margin_loss(head(xr, wr), y, p)
            params = {"head": "cosine", "lambda": lam, "scale": 64.0, "m2": 0.5}
        cen_loss = center_paper(xr, y, cr, "mean")
        total = cls + lam * cen_loss
        gx, gw, gc = torch.autograd.grad(total, [xr, wr, cr])
        name = "center_objective/%s/n=%d,c=%d,d=%d,lambda=%g" % (head_kind, n, c, d, lam)
        col.append({"name": name, "loss": "center_objective", "params": params, "input": enc(x), "weight": enc(w), "target": enc(y, as_int=True),
                    "centers": enc(cen), "value": enc(total), "parts": enc(torch.stack([cls, cen_loss])),
                    "grad_input": enc(gx), "grad_weight": enc(gw), "grad_centers": enc(gc)})


# ----------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------

def sanity(path):
    doc = load_strict(path)
    for c in doc["cases"]:
        for key, t in c.items():
            if isinstance(t, dict) and "shape" in t:
                assert math.prod(t["shape"]) == len(t["data"]), (c["name"], key)
        if "grad_input" in c:
            assert c["grad_input"]["shape"] == c["input"]["shape"], c["name"]
        if "upstream" in c:
            assert c["upstream"]["shape"] == c["value"]["shape"], c["name"]
    return doc


def main():
    torch.set_default_dtype(F64)
    col = CaseList()
    gen_margins(col)
    gen_head(col)
    gen_head_margin(col)
    gen_center(col)
    gen_center_update(col)
    gen_center_objective(col)
    gen_margin_m3_fallbacks(col)
    gen_margin_out_of_range(col)
    size = write(OUT, "tests/reference/generate_metric.py", col.cases)
    doc = sanity(OUT)
    print_summary(OUT, doc, size, "loss", 20)
    for nm in nonfinite_cases(doc):
        print("  non-finite: " + nm)


if __name__ == "__main__":
    sys.exit(main())
