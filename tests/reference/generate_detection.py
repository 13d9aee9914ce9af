#!/usr/bin/python3
"""Reference-value generator for the detection family of the LossKit test suite.

Run with Debian's python3 (python3-torch 1.13 + python3-torchvision 0.14):

    /usr/bin/python3 tests/reference/generate_detection.py

It writes, relative to the repository root:

    tests/LossKit.Tests/Reference/detection.json

Format (strict JSON, same conventions as tests/reference/generate.py;
non-finite floats are written as the strings "NaN", "Infinity", "-Infinity"):

    { "generator": "tests/reference/generate_detection.py",
      "torch": "<version>", "torchvision": "<version>",
      "cases": [ CASE, ... ] }

    CASE = { "name", "loss", "params",
             "input", ["target"], ["weight"], ["labels"], ["scores"], ["class_alpha"],
             ["upstream"], "value", ["grad_input"] }

Every tensor is { "shape": [...], "data": [flat row-major values] }; a scalar
has shape [] and one element. Integer tensors (class labels) hold JSON
integers.

* Losses: "grad_input" = d(sum(value * upstream)) / d input (torch.autograd.grad),
  "upstream" is a random tensor of the value's shape for reduction "none" and a
  scalar in [0.25, 2] otherwise.
* Value-only functions (pairwise matrices box_iou, generalized_box_iou,
  distance_box_iou, complete_box_iou; box_convert; box_area) have no
  "upstream" and no "grad_input"; box_convert and box_area have no "target".
* quality_focal has no "target": its target is the pair "labels" (int [N]) and
  "scores" ([N]).

All input data (boxes, logits, float targets, weights, scores, upstream) is
float32-representable (drawn in float32, or on a coarse binary grid) and
widened to float64; all computation happens in float64. Hyper-parameters are
plain Python floats (eps 1e-7 is the double 1e-7, not the float32 rounding).

Reference implementations: torchvision.ops functions are called directly.
mmdetection (v3 semantics) and ultralytics (bbox_iou, 8.x) are not installed;
their losses are written below as plain torch transcriptions of the formulas in
/work/shared/REFERENCES.md section 3 (eps placements, evaluation order,
stop-gradients and clamps as documented there).

Deterministic: all randomness comes from torch's global generator seeded once.
"""

import json
import math
import os
import sys
import warnings

import torch
import torch.nn.functional as F
import torchvision
from torchvision.ops import (box_area, box_convert, box_iou, complete_box_iou,
                             complete_box_iou_loss, distance_box_iou,
                             distance_box_iou_loss, generalized_box_iou,
                             generalized_box_iou_loss, sigmoid_focal_loss)

from refcommon import (F64, I64, REDUCTIONS, REFERENCE_DIR, CaseList, check_f32, enc, f32, load_strict, logits,
                       nonfinite_cases, pattern_logits, print_summary, rand_n, randint, reduce, uniform, upstream_for,
                       vjp, write)

warnings.filterwarnings("ignore")
torch.manual_seed(20240612)

BOX_SIZES = [0, 1, 3, 7, 8, 9, 17, 33, 65]
BOX_FULL = {0, 17}  # sizes at which every reduction is generated
FOCAL_LENGTHS = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 129]
FOCAL_FULL = {0, 17, 129}
CLASSES = [1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 129]
FORMATS = ["xyxy", "xywh", "cxcywh"]
FLT_EPS = 1.1920928955078125e-07  # torch.finfo(torch.float32).eps, mmdet avg_factor eps

OUT_PATH = os.path.join(REFERENCE_DIR, "detection.json")


# ----------------------------------------------------------------------------
# box helpers
# ----------------------------------------------------------------------------

Q = 0.25  # box grid


def grid_boxes(n):
    """xyxy boxes: x1, y1 in [0, 20), w, h in (0.5, 10], all multiples of 0.25."""
    x1 = randint(0, 80, n).to(F64) * Q
    y1 = randint(0, 80, n).to(F64) * Q
    w = randint(3, 41, n).to(F64) * Q
    h = randint(3, 41, n).to(F64) * Q
    return torch.stack([x1, y1, x1 + w, y1 + h], dim=-1)


def grid_pairs(n):
    """(pred, target) xyxy boxes: half independent, half perturbed copies of the
    prediction (small grid offsets, some coordinates kept exactly) so that
    overlaps, exact edge ties and IoU > 0.5 all occur."""
    p = grid_boxes(n)
    indep = grid_boxes(n)
    x1, y1 = p[:, 0], p[:, 1]
    w, h = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
    d = randint(-6, 7, n, 4).to(F64) * Q
    keep = torch.rand(n, 4) < 0.3
    d = torch.where(keep, torch.zeros_like(d), d)
    nx1, ny1 = x1 + d[:, 0], y1 + d[:, 1]
    nw = torch.clamp(w + d[:, 2], min=0.75)
    nh = torch.clamp(h + d[:, 3], min=0.75)
    pert = torch.stack([nx1, ny1, nx1 + nw, ny1 + nh], dim=-1)
    # exact copies of individual edges (x2 / y2 ties even when x1/w moved)
    same = torch.rand(n, 4) < 0.15
    pert = torch.where(same, p, pert)
    # make sure copied edges did not invert a box
    bad = (pert[:, 2] <= pert[:, 0]) | (pert[:, 3] <= pert[:, 1])
    pert = torch.where(bad.view(-1, 1), p, pert)
    use_pert = (torch.rand(n) < 0.5).view(-1, 1)
    t = torch.where(use_pert, pert, indep)
    return p, t


def to_fmt(boxes_xyxy, fmt):
    if fmt == "xyxy":
        return boxes_xyxy.clone()
    return box_convert(boxes_xyxy, "xyxy", fmt)


S10, S11, S12 = 2.0 ** -10, 2.0 ** -11, 2.0 ** -12
LARGE = 262144.0  # 2^18: area 2^36, eps 1e-6 is below half an ulp of the area

# (tag, pred xyxy, target xyxy)
DEGENERATE = [
    ("identical", [1, 2, 5, 7], [1, 2, 5, 7]),
    ("identical_square", [0, 0, 3, 3], [0, 0, 3, 3]),
    ("touching_edge", [0, 0, 2, 3], [2, 1, 5, 3]),
    ("touching_corner", [0, 0, 2, 2], [2, 2, 3, 4]),
    ("nested_pred_inside", [2, 3, 5, 7], [0, 0, 10, 10]),
    ("nested_target_inside", [0, 0, 10, 10], [2, 3, 5, 7]),
    ("nested_shared_edges", [0, 0, 4, 6], [0, 1, 4, 5]),
    ("nested_shared_corner", [0, 0, 4, 4], [0, 0, 2, 2]),
    ("disjoint", [0, 0, 1, 2], [5, 6, 8, 9]),
    ("disjoint_same_row", [0, 0, 2, 2], [4, 0, 6, 2]),
    ("same_centre", [0, 2, 4, 4], [1, 0, 3, 6]),
    ("same_centre_scaled", [1, 1, 3, 3], [0, 0, 4, 4]),
    ("same_x_centre", [1, 0, 3, 2], [0, 4, 4, 6]),
    ("diagonal_45deg", [0, 0, 2, 2], [3, 3, 5, 5]),
    ("zero_width_pred", [1, 1, 1, 5], [0, 0, 3, 3]),
    ("zero_height_pred", [1, 1, 5, 1], [0, 0, 3, 3]),
    ("zero_height_target", [0, 0, 3, 3], [1, 2, 4, 2]),
    ("zero_area_identical", [1, 1, 1, 1], [1, 1, 1, 1]),
    ("zero_width_identical", [2, 1, 2, 4], [2, 1, 2, 4]),
    ("inverted_pred", [5, 5, 2, 3], [1, 1, 4, 4]),
    ("inverted_both", [4, 4, 1, 1], [3, 5, 0, 2]),
    ("large", [1000, 2000, 300000, 150000], [1500, 2500, 290000, 160000]),
    ("large_identical", [0, 0, LARGE, LARGE], [0, 0, LARGE, LARGE]),
    ("small", [0, 0, S10, S10 * 2], [S11, 0, S10 + S11, S10 * 2]),
    ("tiny_vs_eps", [0.5, 0.5, 0.5 + S12, 0.5 + S11], [0.5, 0.5, 0.5 + S11, 0.5 + S12]),
    ("non_square_cross", [0, 0, 4, 1], [0, 0, 1, 4]),
    ("non_square_overlap", [0, 0, 6, 2], [1, 0.5, 4, 3]),
    ("non_square_same_centre", [0, 1, 4, 3], [1, 0, 3, 4]),
    ("non_square_high_iou", [0, 0, 4, 2], [0, 0, 4, 2.5]),
    ("iou_half", [0, 0, 2, 2], [0, 0, 4, 2]),
    ("negative_coords", [-3, -2, 1, 2], [-1, -4, 2, 0]),
]


def degenerate_tensors():
    p = torch.tensor([d[1] for d in DEGENERATE], dtype=F64)
    t = torch.tensor([d[2] for d in DEGENERATE], dtype=F64)
    return p, t


# ----------------------------------------------------------------------------
# case collection (JSON encoding and checks: refcommon.py)
# ----------------------------------------------------------------------------

class Collector(CaseList):
    def add(self, name, loss, params, fn, inp, target=None, extras=(), grad=True):
        """fn(x) -> float64 tensor; extras: sequence of (key, tensor, is_int)."""
        self.claim(name)
        check_f32(name, "input", inp)
        check_f32(name, "target", target)
        for key, t, is_int in extras:
            if not is_int:
                check_f32(name, key, t)

        case = {"name": name, "loss": loss, "params": params, "input": enc(inp)}
        if target is not None:
            case["target"] = enc(target)
        for key, t, is_int in extras:
            case[key] = enc(t, as_int=is_int)

        if not grad:
            with torch.no_grad():
                value = fn(inp.clone())
            assert value.dtype == F64, name
            case["value"] = enc(value)
            self.cases.append(case)
            return value, None

        x = inp.detach().clone().requires_grad_(True)
        value = fn(x)
        assert value.dtype == F64, name
        upstream = upstream_for(value)
        (g,) = vjp(value, upstream, [x], enabled=x.numel() > 0)
        check_f32(name, "upstream", upstream)
        case["upstream"] = enc(upstream)
        case["value"] = enc(value)
        case["grad_input"] = enc(g)
        self.cases.append(case)
        return value.detach(), g


def tv_reduce(v, reduction):
    """torchvision box-loss reduction: mean of empty = 0 * sum (0, zero gradient)."""
    if reduction == "mean":
        return v.mean() if v.numel() > 0 else 0.0 * v.sum()
    if reduction == "sum":
        return v.sum()
    return v


def mmdet_reduce(loss, weight, reduction, avg_factor):
    """mmdet weight_reduce_loss (v3.x)."""
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        return reduce(loss, reduction)
    if reduction == "mean":
        return loss.sum() / (avg_factor + FLT_EPS)
    if reduction == "none":
        return loss
    raise ValueError("avg_factor can not be used with reduction='sum'")


# ----------------------------------------------------------------------------
# box losses: mmdetection transcriptions (REFERENCES.md section 3)
# ----------------------------------------------------------------------------

def mmdet_bbox_overlaps_aligned(b1, b2, mode, eps):
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    lt = torch.maximum(b1[:, :2], b2[:, :2])
    rb = torch.minimum(b1[:, 2:], b2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[:, 0] * wh[:, 1]
    union = area1 + area2 - overlap
    eps_t = union.new_tensor([eps])
    union = torch.maximum(union, eps_t)
    ious = overlap / union
    if mode == "iou":
        return ious
    elt = torch.minimum(b1[:, :2], b2[:, :2])
    erb = torch.maximum(b1[:, 2:], b2[:, 2:])
    ewh = (erb - elt).clamp(min=0)
    earea = ewh[:, 0] * ewh[:, 1]
    earea = torch.maximum(earea, eps_t)
    return ious - (earea - union) / earea


def mmdet_iou_loss(p, t, mode, eps):
    ious = mmdet_bbox_overlaps_aligned(p, t, "iou", eps).clamp(min=eps)
    if mode == "linear":
        return 1 - ious
    if mode == "square":
        return 1 - ious ** 2
    if mode == "log":
        return -ious.log()
    raise ValueError(mode)


def mmdet_giou_loss(p, t, eps):
    return 1 - mmdet_bbox_overlaps_aligned(p, t, "giou", eps)


def _mmdet_iou_parts(p, t, eps):
    """overlap from clamped sides, union + eps (added), enclosing sides >= 0, rho^2."""
    lt = torch.maximum(p[:, :2], t[:, :2])
    rb = torch.minimum(p[:, 2:], t[:, 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[:, 0] * wh[:, 1]
    ap = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
    ag = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
    union = ap + ag - overlap + eps
    ious = overlap / union
    elt = torch.minimum(p[:, :2], t[:, :2])
    erb = torch.maximum(p[:, 2:], t[:, 2:])
    return ious, elt, erb


def _mmdet_rho2(p, t):
    left = ((t[:, 0] + t[:, 2]) - (p[:, 0] + p[:, 2])) ** 2 / 4
    right = ((t[:, 1] + t[:, 3]) - (p[:, 1] + p[:, 3])) ** 2 / 4
    return left + right


def mmdet_diou_loss(p, t, eps):
    ious, elt, erb = _mmdet_iou_parts(p, t, eps)
    ewh = (erb - elt).clamp(min=0)
    c2 = ewh[:, 0] ** 2 + ewh[:, 1] ** 2 + eps
    rho2 = _mmdet_rho2(p, t)
    return 1 - (ious - rho2 / c2)


def mmdet_ciou_loss(p, t, eps):
    ious, elt, erb = _mmdet_iou_parts(p, t, eps)
    ewh = (erb - elt).clamp(min=0)
    c2 = ewh[:, 0] ** 2 + ewh[:, 1] ** 2 + eps
    w1, h1 = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1] + eps
    w2, h2 = t[:, 2] - t[:, 0], t[:, 3] - t[:, 1] + eps
    rho2 = _mmdet_rho2(p, t)
    factor = 4 / math.pi ** 2
    v = factor * torch.pow(torch.atan(w2 / h2) - torch.atan(w1 / h1), 2)
    with torch.no_grad():
        alpha = (ious > 0.5).to(F64) * v / (1 - ious + v)
    cious = ious - (rho2 / c2 + alpha * v)
    cious = torch.clamp(cious, min=-1.0, max=1.0)
    return 1 - cious


def mmdet_eiou_loss(p, t, smooth_point, eps):
    px1, py1, px2, py2 = p.unbind(-1)
    tx1, ty1, tx2, ty2 = t.unbind(-1)
    ex1 = torch.minimum(px1, tx1)
    ey1 = torch.minimum(py1, ty1)
    ix1 = torch.maximum(px1, tx1)
    iy1 = torch.maximum(py1, ty1)
    ix2 = torch.minimum(px2, tx2)
    iy2 = torch.minimum(py2, ty2)
    xmin = torch.minimum(ix1, ix2)
    ymin = torch.minimum(iy1, iy2)
    xmax = torch.maximum(ix1, ix2)
    ymax = torch.maximum(iy1, iy2)
    intersection = ((ix2 - ex1) * (iy2 - ey1) + (xmin - ex1) * (ymin - ey1)
                    - (ix1 - ex1) * (ymax - ey1) - (xmax - ex1) * (iy1 - ey1))
    union = (px2 - px1) * (py2 - py1) + (tx2 - tx1) * (ty2 - ty1) - intersection + eps
    d = 1 - intersection / union
    smooth_sign = (d < smooth_point).detach().to(F64)
    return 0.5 * smooth_sign * (d ** 2) / smooth_point + (1 - smooth_sign) * (d - 0.5 * smooth_point)


def mmdet_siou_loss(p, t, eps, neg_gamma):
    ious, elt, erb = _mmdet_iou_parts(p, t, eps)
    ewh = (erb - elt).clamp(min=eps)
    cw, ch = ewh[:, 0], ewh[:, 1]
    b1x1, b1y1, b1x2, b1y2 = p.unbind(-1)
    b2x1, b2y1, b2x2, b2y2 = t.unbind(-1)
    w1, h1 = b1x2 - b1x1, b1y2 - b1y1 + eps
    w2, h2 = b2x2 - b2x1, b2y2 - b2y1 + eps
    s_cw = (b2x1 + b2x2 - b1x1 - b1x2) * 0.5 + eps
    s_ch = (b2y1 + b2y2 - b1y1 - b1y2) * 0.5 + eps
    sigma = torch.pow(s_cw ** 2 + s_ch ** 2, 0.5)
    sin_a1 = torch.abs(s_cw) / sigma
    sin_a2 = torch.abs(s_ch) / sigma
    threshold = pow(2, 0.5) / 2
    sin_alpha = torch.where(sin_a1 > threshold, sin_a2, sin_a1)
    angle_cost = torch.cos(torch.asin(sin_alpha) * 2 - math.pi / 2)
    rho_x = (s_cw / cw) ** 2
    rho_y = (s_ch / ch) ** 2
    gamma = angle_cost - 2 if neg_gamma else 2 - angle_cost
    distance_cost = 2 - torch.exp(gamma * rho_x) - torch.exp(gamma * rho_y)
    omega_w = torch.abs(w1 - w2) / torch.maximum(w1, w2)
    omega_h = torch.abs(h1 - h2) / torch.maximum(h1, h2)
    shape_cost = torch.pow(1 - torch.exp(-1 * omega_w), 4) + torch.pow(1 - torch.exp(-1 * omega_h), 4)
    sious = ious - ((distance_cost + shape_cost) * 0.5)
    return 1 - sious.clamp(min=-1.0, max=1.0)


# ----------------------------------------------------------------------------
# box losses: ultralytics bbox_iou transcription (REFERENCES.md section 3)
# ----------------------------------------------------------------------------

def ultra_bbox_iou(box1, box2, xywh, kind, eps=1e-7):
    if xywh:
        (x1, y1, w1, h1), (x2, y2, w2, h2) = box1.chunk(4, -1), box2.chunk(4, -1)
        w1_, h1_, w2_, h2_ = w1 / 2, h1 / 2, w2 / 2, h2 / 2
        b1_x1, b1_x2, b1_y1, b1_y2 = x1 - w1_, x1 + w1_, y1 - h1_, y1 + h1_
        b2_x1, b2_x2, b2_y1, b2_y2 = x2 - w2_, x2 + w2_, y2 - h2_, y2 + h2_
    else:
        b1_x1, b1_y1, b1_x2, b1_y2 = box1.chunk(4, -1)
        b2_x1, b2_y1, b2_x2, b2_y2 = box2.chunk(4, -1)
        w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1 + eps
        w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1 + eps
    inter = (torch.minimum(b1_x2, b2_x2) - torch.maximum(b1_x1, b2_x1)).clamp(min=0) * \
        (torch.minimum(b1_y2, b2_y2) - torch.maximum(b1_y1, b2_y1)).clamp(min=0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    if kind == "iou":
        return iou
    cw = torch.maximum(b1_x2, b2_x2) - torch.minimum(b1_x1, b2_x1)
    ch = torch.maximum(b1_y2, b2_y2) - torch.minimum(b1_y1, b2_y1)
    if kind in ("diou", "ciou"):
        c2 = cw.pow(2) + ch.pow(2) + eps
        rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2).pow(2) + (b2_y1 + b2_y2 - b1_y1 - b1_y2).pow(2)) / 4
        if kind == "ciou":
            v = (4 / math.pi ** 2) * ((w2 / h2).atan() - (w1 / h1).atan()).pow(2)
            with torch.no_grad():
                alpha = v / (v - iou + (1 + eps))
            return iou - (rho2 / c2 + v * alpha)
        return iou - rho2 / c2
    c_area = cw * ch + eps
    return iou - (c_area - union) / c_area


# ----------------------------------------------------------------------------
# Efficient-IoU (Zhang et al. 2022) with torchvision-style pieces
# ----------------------------------------------------------------------------

def tv_inter_union(b1, b2):
    """torchvision's elementwise intersection (strict mask) and union (no eps)."""
    x1, y1, x2, y2 = b1.unbind(-1)
    x1g, y1g, x2g, y2g = b2.unbind(-1)
    xk1 = torch.max(x1, x1g)
    yk1 = torch.max(y1, y1g)
    xk2 = torch.min(x2, x2g)
    yk2 = torch.min(y2, y2g)
    inter = torch.zeros_like(x1)
    mask = (yk2 > yk1) & (xk2 > xk1)
    inter[mask] = (xk2[mask] - xk1[mask]) * (yk2[mask] - yk1[mask])
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    return inter, union


def efficient_eiou_loss(p, t, eps):
    inter, union = tv_inter_union(p, t)
    iou = inter / (union + eps)
    x1, y1, x2, y2 = p.unbind(-1)
    x1g, y1g, x2g, y2g = t.unbind(-1)
    cw = torch.max(x2, x2g) - torch.min(x1, x1g)
    ch = torch.max(y2, y2g) - torch.min(y1, y1g)
    c2 = cw ** 2 + ch ** 2 + eps
    rho2 = ((x2 + x1) / 2 - (x1g + x2g) / 2) ** 2 + ((y2 + y1) / 2 - (y1g + y2g) / 2) ** 2
    w, h = x2 - x1, y2 - y1
    wg, hg = x2g - x1g, y2g - y1g
    return 1 - iou + rho2 / c2 + (w - wg) ** 2 / (cw ** 2 + eps) + (h - hg) ** 2 / (ch ** 2 + eps)


# ----------------------------------------------------------------------------
# box-loss variants
# ----------------------------------------------------------------------------

TV_LOSSES = {
    "giou": generalized_box_iou_loss,
    "diou": distance_box_iou_loss,
    "ciou": complete_box_iou_loss,
}


def make_box_fn(loss, params):
    """Returns fn(pred, target, reduction) for a loss id and its fixed params."""
    if loss in TV_LOSSES:
        f = TV_LOSSES[loss]
        fmt, eps = params["in_fmt"], params["eps"]

        def fn(x, t, red):
            if fmt != "xyxy":
                x = box_convert(x, fmt, "xyxy")
                t = box_convert(t, fmt, "xyxy")
            return f(x, t, reduction=red, eps=eps)
        return fn
    if loss == "iou_mmdet":
        return lambda x, t, red: reduce(mmdet_iou_loss(x, t, params["mode"], params["eps"]), red)
    if loss == "giou_mmdet":
        return lambda x, t, red: reduce(mmdet_giou_loss(x, t, params["eps"]), red)
    if loss == "diou_mmdet":
        return lambda x, t, red: reduce(mmdet_diou_loss(x, t, params["eps"]), red)
    if loss == "ciou_mmdet":
        return lambda x, t, red: reduce(mmdet_ciou_loss(x, t, params["eps"]), red)
    if loss == "eiou_mmdet":
        return lambda x, t, red: reduce(
            mmdet_eiou_loss(x, t, params["smooth_point"], params["eps"]), red)
    if loss == "siou_mmdet":
        return lambda x, t, red: reduce(
            mmdet_siou_loss(x, t, params["eps"], params["neg_gamma"]), red)
    if loss.endswith("_ultra"):
        kind = loss[:-len("_ultra")]

        def fn(x, t, red):
            iou = ultra_bbox_iou(x, t, params["xywh"], kind, params["eps"])
            return reduce((1 - iou).squeeze(-1), red)
        return fn
    if loss == "eiou_efficient":
        return lambda x, t, red: tv_reduce(efficient_eiou_loss(x, t, params["eps"]), red)
    raise ValueError(loss)


def box_variants():
    """(loss id, fixed params, box format of input/target)."""
    v = []
    for loss in ("giou", "diou", "ciou"):
        for fmt in FORMATS:
            for eps in (1e-7, 1e-6):
                v.append((loss, {"eps": eps, "in_fmt": fmt}, fmt))
    for mode in ("linear", "square", "log"):
        v.append(("iou_mmdet", {"eps": 1e-6, "mode": mode}, "xyxy"))
    for loss in ("giou_mmdet", "diou_mmdet", "ciou_mmdet"):
        v.append((loss, {"eps": 1e-6}, "xyxy"))
    v.append(("eiou_mmdet", {"eps": 1e-6, "smooth_point": 0.1}, "xyxy"))
    for ng in (False, True):
        v.append(("siou_mmdet", {"eps": 1e-6, "neg_gamma": ng}, "xyxy"))
    for kind in ("iou", "giou", "diou", "ciou"):
        for xywh in (False, True):
            v.append((kind + "_ultra", {"eps": 1e-7, "xywh": xywh}, "cxcywh" if xywh else "xyxy"))
    v.append(("eiou_efficient", {"eps": 1e-7}, "xyxy"))
    return v


def ptag(params):
    parts = []
    for k, val in params.items():
        if isinstance(val, bool):
            parts.append("%s=%s" % (k, str(val).lower()))
        elif isinstance(val, float):
            parts.append("%s=%g" % (k, val))
        else:
            parts.append("%s=%s" % (k, val))
    return ",".join(parts)


# Secondary (mmdet class default is 1e-6; function default 1e-7) eps cases
MMDET_EPS7 = ["iou_mmdet", "giou_mmdet", "diou_mmdet", "ciou_mmdet", "eiou_mmdet", "siou_mmdet"]


def gen_box_losses(col, stats):
    for loss, fixed, fmt in box_variants():
        fn_of = make_box_fn(loss, fixed)
        tag_p = ptag(fixed)
        is_secondary_eps = loss in TV_LOSSES and fixed["eps"] != 1e-7

        def add(tag, p_xyxy, t_xyxy, red, _loss=loss, _fixed=fixed, _fmt=fmt, _fn=fn_of,
                _tag_p=tag_p):
            x = to_fmt(p_xyxy, _fmt)
            t = to_fmt(t_xyxy, _fmt)
            name = "%s/%s/%s/%s/n=%d" % (_loss, tag, red, _tag_p, x.shape[0])
            params = dict({"reduction": red}, **_fixed)
            val, g = col.add(name, _loss, params, lambda xx: _fn(xx, t, red), x, t)
            return val, g

        # random grid boxes
        sizes = [0, 3, 17] if is_secondary_eps else BOX_SIZES
        for i, n in enumerate(sizes):
            reds = REDUCTIONS if n in BOX_FULL else [REDUCTIONS[i % 3]]
            for red in reds:
                p, t = grid_pairs(n)
                add("random", p, t, red)

        # degenerate pairs, one case each (reduction none)
        dp, dt = degenerate_tensors()
        finite_rows = []
        for k, (dtag, _, _) in enumerate(DEGENERATE):
            val, g = add("degenerate_" + dtag, dp[k:k + 1], dt[k:k + 1], "none")
            ok = bool(torch.isfinite(val).all()) and bool(torch.isfinite(g).all())
            if ok:
                finite_rows.append(k)
            else:
                stats.setdefault("nonfinite_degenerate", []).append(
                    "%s[%s] %s: value=%s grad=%s" % (loss, tag_p, dtag, val.tolist(), g.tolist()))
        # all degenerate pairs together (none), and the finite ones reduced
        add("degenerate_all", dp, dt, "none")
        idx = torch.tensor(finite_rows, dtype=I64)
        for red in ("mean", "sum"):
            add("degenerate_finite", dp[idx], dt[idx], red)

    # mmdet losses with the function-default eps 1e-7
    for loss in MMDET_EPS7:
        modes = ["linear", "square", "log"] if loss == "iou_mmdet" else [None]
        for mode in modes:
            for ng in ([False, True] if loss == "siou_mmdet" else [None]):
                fixed = {"eps": 1e-7}
                if mode is not None:
                    fixed["mode"] = mode
                if loss == "eiou_mmdet":
                    fixed["smooth_point"] = 0.1
                if ng is not None:
                    fixed["neg_gamma"] = ng
                fn_of = make_box_fn(loss, fixed)
                for red in REDUCTIONS:
                    p, t = grid_pairs(17)
                    name = "%s/random/%s/%s/n=17" % (loss, red, ptag(fixed))
                    col.add(name, loss, dict({"reduction": red}, **fixed),
                            (lambda t, red, fn_of: lambda xx: fn_of(xx, t, red))(t, red, fn_of), p, t)
                dp, dt = degenerate_tensors()
                name = "%s/degenerate_all/none/%s/n=%d" % (loss, ptag(fixed), dp.shape[0])
                col.add(name, loss, dict({"reduction": "none"}, **fixed),
                        (lambda t, fn_of: lambda xx: fn_of(xx, t, "none"))(dt, fn_of), dp, dt)


def gen_torchvision_published(col, stats):
    b1 = [-1.0, -1.0, 1.0, 1.0]
    b2 = [0.0, 0.0, 1.0, 1.0]
    b3 = [0.0, 1.0, 1.0, 2.0]
    b4 = [1.0, 1.0, 2.0, 2.0]
    boxes = {"b1": b1, "b2": b2, "b3": b3, "b4": b4}
    pairs = [("b1", "b1"), ("b1", "b2"), ("b2", "b3"), ("b2", "b4"), ("b1", "b3"), ("b1", "b4")]
    for loss, f in TV_LOSSES.items():
        params = {"reduction": "none", "eps": 1e-7, "in_fmt": "xyxy"}
        for a, b in pairs:
            x = torch.tensor([boxes[a]], dtype=F64)
            t = torch.tensor([boxes[b]], dtype=F64)
            name = "%s/torchvision_test/%s_%s/none" % (loss, a, b)
            val, _ = col.add(name, loss, dict(params), lambda xx, t=t, f=f: f(xx, t, reduction="none", eps=1e-7), x, t)
            stats.setdefault("published", []).append("%s(%s,%s) = %.6f" % (loss, a, b, val.item()))
        x = torch.tensor([b2, b2], dtype=F64)
        t = torch.tensor([b3, b4], dtype=F64)
        for red in ("none", "mean", "sum"):
            name = "%s/torchvision_test/batched_b2b2_b3b4/%s" % (loss, red)
            p = dict(params, reduction=red)
            val, _ = col.add(name, loss, p, lambda xx, t=t, f=f, red=red: f(xx, t, reduction=red, eps=1e-7), x, t)
            stats.setdefault("published", []).append("%s batched %s = %s" % (loss, red, val.tolist()))
    # float64 GIoU reference values with gradients (REFERENCES.md section 3)
    for tag, a, b in (("a", [0.0, 0.0, 10.0, 10.0], [2.0, 2.0, 12.0, 8.0]),
                      ("b", [5.0, 5.0, 15.0, 25.0], [20.0, 20.0, 30.0, 30.0])):
        x = torch.tensor([a], dtype=F64)
        t = torch.tensor([b], dtype=F64)
        name = "giou/torchvision_float64_ref_%s/sum" % tag
        params = {"reduction": "sum", "eps": 1e-7, "in_fmt": "xyxy"}
        xx = x.clone().requires_grad_(True)
        v = generalized_box_iou_loss(xx, t, reduction="sum")
        (g,) = torch.autograd.grad(v, xx)
        stats.setdefault("published", []).append(
            "giou float64 ref %s: %r grad %r" % (tag, v.item(), g.view(-1).tolist()))
        col.add(name, "giou", params, lambda xx, t=t: generalized_box_iou_loss(xx, t, reduction="sum"), x, t)


# ----------------------------------------------------------------------------
# pairwise matrices, box_convert, box_area (value only)
# ----------------------------------------------------------------------------

def gen_matrices(col):
    fns = [
        ("box_iou", {}, lambda a, b: box_iou(a, b)),
        ("generalized_box_iou", {}, lambda a, b: generalized_box_iou(a, b)),
        ("distance_box_iou", {"eps": 1e-7}, lambda a, b: distance_box_iou(a, b, eps=1e-7)),
        ("complete_box_iou", {"eps": 1e-7}, lambda a, b: complete_box_iou(a, b, eps=1e-7)),
    ]
    sizes = [(0, 0), (0, 3), (4, 0), (1, 1), (3, 7), (7, 8), (8, 9), (9, 17), (16, 17), (37, 29)]
    for loss, params, f in fns:
        for n, m in sizes:
            b1 = grid_boxes(n)
            b2 = grid_boxes(m)
            # ties: copy some rows / single edges of boxes1 into boxes2
            if n > 0 and m > 0:
                for j in range(m):
                    r = float(torch.rand(()))
                    i = int(torch.randint(0, n, ()))
                    if r < 0.2:
                        b2[j] = b1[i]
                    elif r < 0.4:
                        k = int(torch.randint(0, 4, ()))
                        b2[j, k] = b1[i, k]
                        if b2[j, 2] <= b2[j, 0] or b2[j, 3] <= b2[j, 1]:
                            b2[j] = b1[i]
            name = "%s/random/%s/n=%d,m=%d" % (loss, ptag(params) or "default", n, m)
            col.add(name, loss, dict(params), lambda a, b2=b2: f(a, b2), b1, b2, grad=False)
        dp, dt = degenerate_tensors()
        name = "%s/degenerate/%s/n=%d,m=%d" % (loss, ptag(params) or "default", dp.shape[0], dt.shape[0])
        col.add(name, loss, dict(params), lambda a, dt=dt: f(a, dt), dp, dt, grad=False)
    for loss, f in (("distance_box_iou", distance_box_iou), ("complete_box_iou", complete_box_iou)):
        b1, b2 = grid_boxes(9), grid_boxes(7)
        name = "%s/random/eps=1e-06/n=9,m=7" % loss
        col.add(name, loss, {"eps": 1e-6}, lambda a, b2=b2, f=f: f(a, b2, eps=1e-6), b1, b2, grad=False)

    # box_convert over all ordered pairs of distinct formats
    for fin in FORMATS:
        for fout in FORMATS:
            if fin == fout:
                continue
            for n in (0, 1, 7, 17, 33):
                if n % 2:
                    x = uniform(-20.0, 40.0, n, 4)  # arbitrary float32 values
                else:
                    x = to_fmt(grid_boxes(n), fin)
                name = "box_convert/%s_to_%s/n=%d" % (fin, fout, n)
                col.add(name, "box_convert", {"in_fmt": fin, "out_fmt": fout},
                        lambda a, fin=fin, fout=fout: box_convert(a, fin, fout), x, grad=False)
            dp, _ = degenerate_tensors()
            x = to_fmt(dp, fin)
            name = "box_convert/%s_to_%s/degenerate/n=%d" % (fin, fout, x.shape[0])
            col.add(name, "box_convert", {"in_fmt": fin, "out_fmt": fout},
                    lambda a, fin=fin, fout=fout: box_convert(a, fin, fout), x, grad=False)
    for n in (0, 1, 7, 17, 33):
        x = grid_boxes(n) if n % 2 == 0 else uniform(-20.0, 40.0, n, 4)
        col.add("box_area/random/n=%d" % n, "box_area", {}, lambda a: box_area(a), x, grad=False)
    dp, _ = degenerate_tensors()
    col.add("box_area/degenerate/n=%d" % dp.shape[0], "box_area", {}, lambda a: box_area(a), dp, grad=False)


# ----------------------------------------------------------------------------
# focal family
# ----------------------------------------------------------------------------

SHAPES = {0: (0, 4), 1: (1, 1), 3: (1, 3), 7: (7, 1), 8: (2, 4), 9: (3, 3), 15: (3, 5),
          16: (4, 4), 17: (1, 17), 31: (31, 1), 32: (4, 8), 33: (3, 11), 63: (7, 9),
          64: (8, 8), 65: (5, 13), 129: (3, 43)}
ALPHAS = [0.25, 0.5, -1.0]
GAMMAS = [0.0, 0.5, 1.0, 2.0, 5.0]


def binary_targets(n, c, kind):
    hard = (torch.rand(n, c) < 0.5).to(F64)
    if kind == "hard":
        return hard
    soft = uniform(0.0, 1.0, n, c)
    if kind == "soft":
        return soft
    return torch.where(torch.rand(n, c) < 0.5, hard, soft)


def gen_sigmoid_focal(col):
    L = "sigmoid_focal"

    def add(tag, x, t, alpha, gamma, red, tkind):
        n, c = x.shape
        name = "%s/%s/%s/alpha=%g,gamma=%g/%s/n=%d,c=%d" % (L, tag, red, alpha, gamma, tkind, n, c)
        params = {"reduction": red, "alpha": alpha, "gamma": gamma}
        col.add(name, L, params,
                lambda xx: sigmoid_focal_loss(xx, t, alpha=alpha, gamma=gamma, reduction=red), x, t)

    kinds = ["hard", "soft", "mixed"]
    for i, length in enumerate(FOCAL_LENGTHS):
        n, c = SHAPES[length]
        reds = REDUCTIONS if length in FOCAL_FULL else [REDUCTIONS[i % 3]]
        for j, red in enumerate(reds):
            alpha = ALPHAS[(i + j) % 3]
            gamma = GAMMAS[(i + 2 * j) % 5]
            tk = kinds[(i + j) % 3]
            add("sweep", logits(n, c), binary_targets(n, c, tk), alpha, gamma, red, tk)
    # full grid alpha x gamma x reduction x target kind
    for alpha in ALPHAS:
        for gamma in GAMMAS:
            for red in REDUCTIONS:
                for tk in ("hard", "soft"):
                    add("grid", logits(4, 9), binary_targets(4, 9, tk), alpha, gamma, red, tk)
    # extreme logits (+-1e4, 0, 3), mixed hard/soft targets incl. exact 0/1
    for gamma in GAMMAS:
        for alpha in (0.25, -1.0):
            for red in ("none", "sum"):
                x = pattern_logits(4, 8)
                t = binary_targets(4, 8, "mixed")
                add("extreme", x, t, alpha, gamma, red, "mixed")
    # empty input with every reduction
    for red in REDUCTIONS:
        for gamma in (0.0, 2.0):
            add("empty", logits(0, 5), binary_targets(0, 5, "hard"), 0.25, gamma, red, "hard")


def softmax_focal(x, labels, alpha, gamma, class_alpha, weight, ignore_index, red):
    logp = F.log_softmax(x, dim=1)
    valid = labels != ignore_index
    safe = torch.where(valid, labels, torch.zeros_like(labels))
    logp_y = logp.gather(1, safe.view(-1, 1)).view(-1)
    p_y = torch.exp(logp_y)
    a = class_alpha[safe] if class_alpha is not None else alpha
    l = -a * (1 - p_y) ** gamma * logp_y
    if weight is not None:
        l = l * weight[safe]
    l = torch.where(valid, l, torch.zeros_like(l))
    if red == "none":
        return l
    if red == "sum":
        return l.sum()
    return l.sum() / l.shape[0] if l.shape[0] > 0 else l.sum() / 0.0  # sum / N (NaN on empty)


def gen_softmax_focal(col):
    L = "softmax_focal"
    II = -100

    def add(tag, x, labels, gamma, red, class_alpha=None, weight=None, alpha=0.25):
        n, c = x.shape
        atag = "class_alpha" if class_alpha is not None else "alpha=%g" % alpha
        wt = "weight" if weight is not None else "noweight"
        name = "%s/%s/%s/gamma=%g,%s/%s/n=%d,c=%d" % (L, tag, red, gamma, atag, wt, n, c)
        params = {"reduction": red, "gamma": gamma, "ignore_index": II}
        if class_alpha is None:
            params["alpha"] = alpha
        extras = []
        if weight is not None:
            extras.append(("weight", weight, False))
        if class_alpha is not None:
            extras.append(("class_alpha", class_alpha, False))
        col.add(name, L, params,
                lambda xx: softmax_focal(xx, labels, alpha, gamma, class_alpha, weight, II, red),
                x, labels, extras)

    def labels_for(n, c, frac=0.0, all_ignored=False):
        t = randint(0, c, n)
        if all_ignored:
            t[:] = II
        elif frac > 0 and n >= 2:
            m = torch.rand(n) < frac
            m[0] = True
            m[1] = False
            t[m] = II
        return t

    gammas = [0.0, 1.0, 2.0]
    for i, c in enumerate(CLASSES):
        n = rand_n()
        ca = uniform(0.1, 1.0, c) if i % 2 else None
        w = uniform(0.1, 2.0, c) if (i // 2) % 2 else None
        add("sweep", logits(n, c), labels_for(n, c, 0.3 if i % 3 == 0 else 0.0),
            gammas[i % 3], REDUCTIONS[(i + 1) % 3], ca, w)
    for gamma in gammas:
        for red in REDUCTIONS:
            for use_ca in (False, True):
                for use_w in (False, True):
                    n, c = 6, 9
                    ca = uniform(0.1, 1.0, c) if use_ca else None
                    w = uniform(0.1, 2.0, c) if use_w else None
                    add("grid", logits(n, c), labels_for(n, c, 0.4), gamma, red, ca, w)
    for gamma in gammas:
        for red in REDUCTIONS:
            add("all_ignored", logits(4, 5), labels_for(4, 5, all_ignored=True), gamma, red)
            add("empty", logits(0, 5), labels_for(0, 5), gamma, red)
            n, c = 5, 8
            add("extreme", pattern_logits(n, c), labels_for(n, c, 0.3), gamma, red,
                None, uniform(0.1, 2.0, c))


def quality_focal(x, labels, scores, beta, weight, red, avg_factor):
    s = x.sigmoid()
    zerolabel = torch.zeros_like(x)
    loss = F.binary_cross_entropy_with_logits(x, zerolabel, reduction="none") * s.pow(beta)
    bg = x.shape[1]
    pos = ((labels >= 0) & (labels < bg)).nonzero().squeeze(1)
    pos_label = labels[pos]
    scale = scores[pos] - s[pos, pos_label]
    loss[pos, pos_label] = F.binary_cross_entropy_with_logits(
        x[pos, pos_label], scores[pos], reduction="none") * scale.abs().pow(beta)
    loss = loss.sum(dim=1)
    return mmdet_reduce(loss, weight, red, avg_factor)


def gen_quality_focal(col):
    L = "quality_focal"

    def add(tag, x, labels, scores, beta, red, weight=None, avg_factor=None):
        n, c = x.shape
        aft = ",avg_factor=%g" % avg_factor if avg_factor is not None else ""
        wt = "weight" if weight is not None else "noweight"
        name = "%s/%s/%s/beta=%g%s/%s/n=%d,c=%d" % (L, tag, red, beta, aft, wt, n, c)
        params = {"reduction": red, "beta": beta}
        if avg_factor is not None:
            params["avg_factor"] = avg_factor
        extras = [("labels", labels, True), ("scores", scores, False)]
        if weight is not None:
            extras.append(("weight", weight, False))
        col.add(name, L, params,
                lambda xx: quality_focal(xx, labels, scores, beta, weight, red, avg_factor),
                x, None, extras)

    def make(n, c):
        labels = randint(0, c, n)
        r = torch.rand(n)
        labels[r < 0.25] = c          # background as C
        labels[(r >= 0.25) & (r < 0.4)] = -1  # background as -1
        scores = uniform(0.0, 1.0, n)
        if n > 0:
            scores[0] = 1.0
            if n > 1:
                scores[1] = 0.0
        # negatives: mostly score 0, some arbitrary (must be ignored)
        neg = (labels < 0) | (labels >= c)
        scores = torch.where(neg & (torch.rand(n) < 0.6), torch.zeros_like(scores), scores)
        return labels, scores

    for beta in (2.0, 1.5):
        for i, c in enumerate([1, 3, 7, 8, 9, 16, 17, 33, 80]):
            n = rand_n(1, 12)
            labels, scores = make(n, c)
            w = uniform(0.1, 2.0, n) if i % 2 else None
            red = REDUCTIONS[i % 3]
            add("sweep", logits(n, c), labels, scores, beta, red, w)
        for red in REDUCTIONS:
            for use_w in (False, True):
                n, c = 9, 7
                labels, scores = make(n, c)
                w = uniform(0.1, 2.0, n) if use_w else None
                add("grid", logits(n, c), labels, scores, beta, red, w)
        for use_w in (False, True):
            for af in (3.0, 7.5):
                n, c = 9, 7
                labels, scores = make(n, c)
                w = uniform(0.1, 2.0, n) if use_w else None
                add("avg_factor", logits(n, c), labels, scores, beta, "mean", w, af)
        for red in REDUCTIONS:
            labels, scores = make(0, 5)
            add("empty", logits(0, 5), labels, scores, beta, red)
        labels, scores = make(0, 5)
        add("empty", logits(0, 5), labels, scores, beta, "mean", None, 1.0)
        for red in ("none", "sum"):
            n, c = 6, 8
            labels, scores = make(n, c)
            add("extreme", pattern_logits(n, c), labels, scores, beta, red, uniform(0.1, 2.0, n))


def gen_quality_focal_beta1(col):
    """beta = 1 (|sigma - q| to the first power), with positives where sigma(x) = q exactly (x = 0, q = 0.5): there
    |.|'s derivative is torch.sign(0) = 0, so the scale factor adds nothing. Generated after the other families, so
    their random inputs are unchanged."""
    L = "quality_focal"
    n, c = 6, 5
    labels = torch.tensor([0, 3, 5, 2, -1, 4], dtype=I64)
    scores = torch.tensor([0.5, 0.5, 0.0, 0.75, 0.0, 0.25], dtype=F64)
    x = logits(n, c)
    x[0, 0] = 0.0
    x[1, 3] = 0.0
    for red in REDUCTIONS:
        name = "%s/exact_beta1/%s/beta=1/noweight/n=%d,c=%d" % (L, red, n, c)
        col.add(name, L, {"reduction": red, "beta": 1.0},
                lambda xx, red=red: quality_focal(xx, labels, scores, 1.0, None, red, None),
                x, None, [("labels", labels, True), ("scores", scores, False)])


def distribution_focal(x, y, weight, red, avg_factor):
    left = y.long()
    right = left + 1
    wl = right.to(F64) - y
    wr = y - left.to(F64)
    loss = (F.cross_entropy(x, left, reduction="none") * wl
            + F.cross_entropy(x, right, reduction="none") * wr)
    return mmdet_reduce(loss, weight, red, avg_factor)


def gen_distribution_focal(col):
    L = "distribution_focal"

    def add(tag, x, y, red, weight=None, avg_factor=None):
        n, bins = x.shape
        aft = ",avg_factor=%g" % avg_factor if avg_factor is not None else ""
        wt = "weight" if weight is not None else "noweight"
        name = "%s/%s/%s/bins=%d%s/%s/n=%d" % (L, tag, red, bins, aft, wt, n)
        params = {"reduction": red}
        if avg_factor is not None:
            params["avg_factor"] = avg_factor
        extras = [("weight", weight, False)] if weight is not None else []
        col.add(name, L, params, lambda xx: distribution_focal(xx, y, weight, red, avg_factor),
                x, y, extras)

    def targets(n, bins):
        top = float(bins - 1)
        y = uniform(0.0, top, n)
        y = torch.clamp(y, max=f32(torch.tensor(top - 0.01, dtype=F64)).item())
        if n > 0:
            special = [0.0, float(bins - 2), f32(torch.tensor(top - 0.1)).item(),
                       f32(torch.tensor(top - 0.01)).item(), 1.0, 7.5, 0.25]
            k = min(n, len(special))
            idx = torch.randperm(n)[:k]
            y[idx] = torch.tensor(special[:k], dtype=F64)
        # some integers
        ints = randint(0, bins - 1, n).to(F64)
        y = torch.where(torch.rand(n) < 0.15, ints, y)
        assert bool(((y >= 0) & (y < bins - 1)).all())
        return y

    for bins in (17, 16):
        for i, n in enumerate([1, 3, 7, 8, 9, 17, 33, 65]):
            w = uniform(0.1, 2.0, n) if i % 2 else None
            add("sweep", logits(n, bins), targets(n, bins), REDUCTIONS[i % 3], w)
        for red in REDUCTIONS:
            for use_w in (False, True):
                n = 12
                w = uniform(0.1, 2.0, n) if use_w else None
                add("grid", logits(n, bins), targets(n, bins), red, w)
        for use_w in (False, True):
            for af in (4.0, 9.5):
                n = 12
                w = uniform(0.1, 2.0, n) if use_w else None
                add("avg_factor", logits(n, bins), targets(n, bins), "mean", w, af)
        for red in REDUCTIONS:
            add("empty", logits(0, bins), targets(0, bins), red)
        add("empty", logits(0, bins), targets(0, bins), "mean", None, 4.0)
        for red in ("none", "sum"):
            add("extreme", pattern_logits(6, bins), targets(6, bins), red, uniform(0.1, 2.0, 6))


def varifocal(x, t, alpha, gamma, iou_weighted, weight, red, avg_factor):
    s = x.sigmoid()
    pos = (t > 0.0).to(F64)
    neg = (t <= 0.0).to(F64)
    if iou_weighted:
        fw = t * pos + alpha * (s - t).abs().pow(gamma) * neg
    else:
        fw = pos + alpha * (s - t).abs().pow(gamma) * neg
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none") * fw
    return mmdet_reduce(loss, weight, red, avg_factor)


def gen_varifocal(col):
    L = "varifocal"
    ALPHA, GAMMA = 0.75, 2.0

    def add(tag, x, t, iw, red, weight=None, avg_factor=None):
        n, c = x.shape
        aft = ",avg_factor=%g" % avg_factor if avg_factor is not None else ""
        wt = "weight" if weight is not None else "noweight"
        name = "%s/%s/%s/iou_weighted=%s%s/%s/n=%d,c=%d" % (L, tag, red, str(iw).lower(), aft, wt, n, c)
        params = {"reduction": red, "alpha": ALPHA, "gamma": GAMMA, "iou_weighted": iw}
        if avg_factor is not None:
            params["avg_factor"] = avg_factor
        extras = [("weight", weight, False)] if weight is not None else []
        col.add(name, L, params,
                lambda xx: varifocal(xx, t, ALPHA, GAMMA, iw, weight, red, avg_factor), x, t, extras)

    def targets(n, c):
        t = torch.zeros(n, c, dtype=F64)
        if n == 0:
            return t
        labels = randint(0, c, n)
        posrow = torch.rand(n) < 0.6
        scores = uniform(0.01, 1.0, n)
        scores[torch.rand(n) < 0.15] = 1.0
        rows = torch.arange(n)[posrow]
        t[rows, labels[posrow]] = scores[posrow]
        return t

    for iw in (True, False):
        for i, length in enumerate(FOCAL_LENGTHS):
            if length == 0:
                continue
            n, c = SHAPES[length]
            w = uniform(0.1, 2.0, n, c) if i % 2 else None
            add("sweep", logits(n, c), targets(n, c), iw, REDUCTIONS[i % 3], w)
        for red in REDUCTIONS:
            for use_w in (False, True):
                n, c = 8, 9
                w = uniform(0.1, 2.0, n, c) if use_w else None
                add("grid", logits(n, c), targets(n, c), iw, red, w)
        for use_w in (False, True):
            for af in (2.0, 6.5):
                n, c = 8, 9
                w = uniform(0.1, 2.0, n, c) if use_w else None
                add("avg_factor", logits(n, c), targets(n, c), iw, "mean", w, af)
        for red in REDUCTIONS:
            add("empty", logits(0, 5), targets(0, 5), iw, red)
        add("empty", logits(0, 5), targets(0, 5), iw, "mean", None, 2.0)
        for red in ("none", "sum"):
            n, c = 6, 8
            add("extreme", pattern_logits(n, c), targets(n, c), iw, red, uniform(0.1, 2.0, n, c))


# ----------------------------------------------------------------------------
# self-checks against published values and independent formulas
# ----------------------------------------------------------------------------

def self_checks():
    t = lambda v: torch.tensor([v], dtype=F64)
    b1, b2, b3, b4 = t([-1, -1, 1, 1]), t([0, 0, 1, 1]), t([0, 1, 1, 2]), t([1, 1, 2, 2])
    g = lambda a, b: generalized_box_iou_loss(a, b).item()
    d = lambda a, b: distance_box_iou_loss(a, b).item()
    c = lambda a, b: complete_box_iou_loss(a, b).item()
    assert abs(g(b1, b1)) < 1e-6 and abs(g(b1, b2) - 0.75) < 1e-6
    assert abs(g(b2, b3) - 1.0) < 1e-6 and abs(g(b2, b4) - 1.5) < 1e-6
    for fn in (d, c):
        assert abs(fn(b1, b2) - 0.8125) < 1e-6
        assert abs(fn(b1, b3) - 1.1923) < 1e-4
        assert abs(fn(b1, b4) - 1.25) < 1e-6
    x = t([0.0, 0.0, 10.0, 10.0]).requires_grad_(True)
    v = generalized_box_iou_loss(x, t([2.0, 2.0, 12.0, 8.0]), reduction="sum")
    (gr,) = torch.autograd.grad(v, x)
    assert v.item() == 0.6380952384223356, v.item()
    ref = [-0.03270975050782178, -0.0482653060513403, -0.07159863940750527, 0.0482653060513403]
    assert all(abs(a - b) < 1e-15 for a, b in zip(gr.view(-1).tolist(), ref)), gr

    # mmdet / ultralytics transcriptions agree with torchvision for well-formed boxes
    p, q = grid_pairs(200)
    tv_iou = torch.diagonal(box_iou(p, q))
    tv_giou = 1 - generalized_box_iou_loss(p, q)
    tv_diou = 1 - distance_box_iou_loss(p, q)
    tv_ciou = 1 - complete_box_iou_loss(p, q)
    assert torch.allclose(mmdet_bbox_overlaps_aligned(p, q, "iou", 1e-12), tv_iou, atol=1e-9)
    assert torch.allclose(1 - mmdet_giou_loss(p, q, 1e-12), tv_giou, atol=1e-9)
    assert torch.allclose(1 - mmdet_diou_loss(p, q, 1e-12), tv_diou, atol=1e-9)
    assert torch.allclose(1 - efficient_eiou_loss(p, q, 1e-12)
                          + ((p[:, 2] - p[:, 0]) - (q[:, 2] - q[:, 0])) ** 2
                          / ((torch.max(p[:, 2], q[:, 2]) - torch.min(p[:, 0], q[:, 0])) ** 2)
                          + ((p[:, 3] - p[:, 1]) - (q[:, 3] - q[:, 1])) ** 2
                          / ((torch.max(p[:, 3], q[:, 3]) - torch.min(p[:, 1], q[:, 1])) ** 2),
                          tv_diou, atol=1e-9)
    for kind, ref in (("iou", tv_iou), ("giou", tv_giou), ("diou", tv_diou), ("ciou", tv_ciou)):
        u = ultra_bbox_iou(p, q, False, kind, 1e-12).squeeze(-1)
        assert torch.allclose(u, ref, atol=1e-6), kind
        u2 = ultra_bbox_iou(box_convert(p, "xyxy", "cxcywh"), box_convert(q, "xyxy", "cxcywh"),
                            True, kind, 1e-12).squeeze(-1)
        assert torch.allclose(u2, ref, atol=1e-6), kind
    # mmdet CIoU equals torchvision CIoU where IoU > 0.5 (no clamp active), up to eps
    m = tv_iou > 0.55
    assert bool(m.any())
    assert torch.allclose((1 - mmdet_ciou_loss(p, q, 1e-12))[m], tv_ciou[m], atol=1e-6)
    # Extended IoU intersection equals the plain intersection for overlapping boxes
    # (d = 1 - IoU there)
    ov = tv_iou > 0
    e = mmdet_eiou_loss(p, q, 1e-30, 1e-12)  # smooth_point ~0: loss = d
    assert torch.allclose(e[ov], 1 - tv_iou[ov], atol=1e-9)
    # sigmoid focal with alpha -1, gamma 0 = BCE with logits
    xl, tl = logits(5, 7), binary_targets(5, 7, "mixed")
    assert torch.allclose(sigmoid_focal_loss(xl, tl, alpha=-1, gamma=0),
                          F.binary_cross_entropy_with_logits(xl, tl, reduction="none"))
    # softmax focal with gamma 0, alpha 1 = cross entropy
    lab = randint(0, 7, 5)
    assert torch.allclose(softmax_focal(xl, lab, 1.0, 0.0, None, None, -100, "none"),
                          F.cross_entropy(xl, lab, reduction="none"))
    # DFL with integer targets = CE on the left bin; y = l + 0.5 averages the two CEs
    xd = logits(5, 17)
    yl = randint(0, 16, 5).to(F64)
    assert torch.allclose(distribution_focal(xd, yl, None, "none", None),
                          F.cross_entropy(xd, yl.long(), reduction="none"))
    yh = yl + 0.5
    assert torch.allclose(distribution_focal(xd, yh, None, "none", None),
                          0.5 * (F.cross_entropy(xd, yl.long(), reduction="none")
                                 + F.cross_entropy(xd, yl.long() + 1, reduction="none")))


# ----------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------

TENSOR_KEYS = ("input", "target", "weight", "labels", "scores", "class_alpha",
               "upstream", "value", "grad_input")


def sanity(path):
    doc = load_strict(path)
    with open(path, "r", encoding="utf-8") as f:
        json.load(f)  # plain json.load must succeed too
    for c in doc["cases"]:
        for key in TENSOR_KEYS:
            if key in c:
                shape, data = c[key]["shape"], c[key]["data"]
                assert math.prod(shape) == len(data), (c["name"], key)
                for v in data:
                    assert isinstance(v, (int, float)) or v in ("NaN", "Infinity", "-Infinity"), \
                        (c["name"], key, v)
        if "grad_input" in c:
            assert c["grad_input"]["shape"] == c["input"]["shape"], c["name"]
            assert c["upstream"]["shape"] == c["value"]["shape"], c["name"]
        else:
            assert "upstream" not in c, c["name"]
    return doc


def main():
    torch.set_default_dtype(F64)
    self_checks()
    stats = {}
    col = Collector()
    gen_torchvision_published(col, stats)
    gen_box_losses(col, stats)
    gen_matrices(col)
    gen_sigmoid_focal(col)
    gen_softmax_focal(col)
    gen_quality_focal(col)
    gen_distribution_focal(col)
    gen_varifocal(col)
    gen_quality_focal_beta1(col)

    size = write(OUT_PATH, "tests/reference/generate_detection.py", col.cases, torchvision=torchvision.__version__)
    doc = sanity(OUT_PATH)
    print_summary(OUT_PATH, doc, size, "loss", 22)
    if "-v" in sys.argv:
        for line in stats.get("published", []):
            print("  " + line)
        print("non-finite degenerate single-pair cases:")
        for line in stats.get("nonfinite_degenerate", []):
            print("  " + line)
        nonfinite = nonfinite_cases(doc)
        print("cases with non-finite value/grad (%d):" % len(nonfinite))
        for nm in nonfinite:
            print("  " + nm)


if __name__ == "__main__":
    sys.exit(main())
