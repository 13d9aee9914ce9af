#!/usr/bin/python3
"""Reference-value generator for the detector criteria of the LossKit test suite.

Run with Debian's python3 (python3-torch 1.13 + python3-torchvision 0.14):

    /usr/bin/python3 tests/reference/generate_criteria.py

It writes, relative to the repository root:

    tests/LossKit.Tests/Reference/criteria.json

Format (strict JSON, the conventions of tests/reference/generate.py;
non-finite floats are the strings "NaN", "Infinity", "-Infinity"):

    { "generator": "tests/reference/generate_criteria.py",
      "torch": "<version>", "torchvision": "<version>",
      "cases": [ CASE, ... ] }

    CASE = { "name", "kind", "params": {...},
             "inputs":  { key: TENSOR, ... },
             "outputs": { key: TENSOR, ... } }

Every tensor is { "shape": [...], "data": [flat row-major values] }; a scalar
has shape [] and one element. Integer tensors (labels, counts, matches,
sample marks) hold JSON integers.

Kinds, and what produced their outputs:

* box_encode, box_decode: torchvision's BoxCoder (encode_single /
  decode_single); decode's "grad_deltas" = d(sum(boxes * upstream))/d deltas
  by autograd.
* matcher: torchvision's Matcher on crafted quality matrices (ties,
  low-quality matches, values on the thresholds).
* rpn_assign: RegionProposalNetwork.assign_targets_to_anchors + box_coder.encode.
* rpn_loss: RegionProposalNetwork.compute_loss with its fg_bg_sampler replaced
  by a fixed random selection (inputs "selection": 0 none, 1 positive,
  2 negative), gradients by autograd w.r.t. objectness and the deltas.
* rpn_full: assign + encode + compute_loss with the real sampler on inputs where
  every candidate is taken (so sampling is deterministic).
* roi_select: RoIHeads.select_training_samples (real sampler, every candidate
  taken).
* fastrcnn_loss: roi_heads.fastrcnn_loss, gradients by autograd.
* retinanet: RetinaNet.compute_loss (the real method, called with a stand-in
  self holding the RetinaNet matcher and a RetinaNetHead) for each box loss
  type; "matches" are the matcher's output (box_iou + Matcher).
* yolo_darknet: an independent PyTorch reference written from darknet's
  definition (REFERENCES.md section 5), autograd gradients.
* yolo_ultralytics: a PyTorch transcription of the ultralytics/yolov3 archive
  branch's build_targets / compute_loss / bbox_iou (REFERENCES.md section 5).

Gradients are of the sum of the criterion's terms (upstream 1).

All input data is float32-representable (drawn in float32, or on an integer /
binary grid) and widened to float64; all computation happens in float64.
Discrete decisions (matches, ignore masks, anchor choices, cells) are kept
away from their thresholds so a float32 evaluation makes the same decisions;
the generator checks that with float32 runs where the decision code is
torchvision's.

Deterministic: all randomness comes from torch's global generator seeded once.
"""

import math
import os
import sys
import types
import warnings

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.retinanet import RetinaNet, RetinaNetHead
from torchvision.models.detection.roi_heads import RoIHeads, fastrcnn_loss
from torchvision.models.detection.rpn import RegionProposalNetwork
from torchvision.ops import box_iou

from refcommon import (F32, F64, I64, REFERENCE_DIR, CaseList, check_f32, enc, f32, load_strict, print_summary, randint,
                       randn, uniform, write)

warnings.filterwarnings("ignore")
torch.manual_seed(20240615)

OUT_PATH = os.path.join(REFERENCE_DIR, "criteria.json")

CLIP = math.log(1000.0 / 16)


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------

class Collector(CaseList):
    def add(self, name, kind, params, inputs, outputs):
        self.claim(name)
        if not params.get("double_only", False):
            for k, v in inputs.items():
                check_f32(name, "input " + k, v)
        for k, v in outputs.items():
            v = torch.as_tensor(v)
            assert not v.is_floating_point() or v.dtype == F64, (name, k, v.dtype)
        self.cases.append({
            "name": name, "kind": kind, "params": params,
            "inputs": {k: enc(v) for k, v in inputs.items()},
            "outputs": {k: enc(v) for k, v in outputs.items()},
        })


def grid_boxes(n, lo=0, hi=64, smin=2, smax=24):
    """Integer xyxy boxes: x1, y1 in [lo, hi), sides in [smin, smax]."""
    x1 = randint(lo, hi, n).to(F64)
    y1 = randint(lo, hi, n).to(F64)
    w = randint(smin, smax + 1, n).to(F64)
    h = randint(smin, smax + 1, n).to(F64)
    return torch.stack([x1, y1, x1 + w, y1 + h], dim=-1)


def grid_anchors(size, stride, shapes):
    """Integer anchors centred on a stride grid over a size x size image."""
    out = []
    for cy in range(stride // 2, size, stride):
        for cx in range(stride // 2, size, stride):
            for (w, h) in shapes:
                out.append([cx - w // 2, cy - h // 2, cx - w // 2 + w, cy - h // 2 + h])
    return torch.tensor(out, dtype=F64)


def near_truths(anchors, n):
    """Ground truths near anchors (perturbed copies) so that every matcher band occurs."""
    idx = torch.randint(0, anchors.shape[0], (n,))
    base = anchors[idx].clone()
    d = randint(-3, 4, n, 4).to(F64)
    b = base + d
    bad = (b[:, 2] <= b[:, 0] + 1) | (b[:, 3] <= b[:, 1] + 1)
    b[bad] = base[bad]
    return b


def split_counts(total_list):
    return torch.tensor(total_list, dtype=I64)


# ----------------------------------------------------------------------------
# BoxCoder
# ----------------------------------------------------------------------------

def gen_box_coder(col):
    # REFERENCES.md section 5 numbers (weights (10, 10, 5, 5)).
    gt = torch.tensor([[10.0, 20.0, 50.0, 80.0]], dtype=F64)
    prop = torch.tensor([[12.0, 18.0, 48.0, 90.0]], dtype=F64)
    for weights in [(10.0, 10.0, 5.0, 5.0), (1.0, 1.0, 1.0, 1.0)]:
        coder = det_utils.BoxCoder(weights)
        col.add("box_encode/reference_%s" % "_".join("%g" % w for w in weights), "box_encode",
                {"weights": list(weights), "clip": CLIP},
                {"boxes": gt, "anchors": prop}, {"deltas": coder.encode_single(gt, prop)})

    # Random boxes, both weight sets.
    for weights in [(10.0, 10.0, 5.0, 5.0), (1.0, 1.0, 1.0, 1.0), (2.0, 3.0, 0.5, 4.0)]:
        coder = det_utils.BoxCoder(weights)
        for n in [0, 1, 7, 33]:
            boxes = f32(grid_boxes(n) + uniform(0, 1, n, 4))
            anchors = f32(grid_boxes(n) + uniform(0, 1, n, 4))
            col.add("box_encode/w%s/n%d" % ("_".join("%g" % w for w in weights), n), "box_encode",
                    {"weights": list(weights), "clip": CLIP},
                    {"boxes": boxes, "anchors": anchors}, {"deltas": coder.encode_single(boxes, anchors)})

    def decode_case(name, weights, deltas, anchors, double_only=False):
        coder = det_utils.BoxCoder(weights)
        d = deltas.clone().requires_grad_(True)
        boxes = coder.decode_single(d, anchors)
        upstream = randn(*boxes.shape)
        if d.numel():
            (g,) = torch.autograd.grad((boxes * upstream).sum(), d)
        else:
            g = torch.zeros_like(d)
        params = {"weights": list(weights), "clip": CLIP}
        if double_only:
            params["double_only"] = True
        col.add(name, "box_decode", params,
                {"deltas": deltas, "anchors": anchors, "upstream": upstream},
                {"boxes": boxes.detach(), "grad_deltas": g})

    # REFERENCES.md: decode (0.5, -0.5, dw with dw/5 > 4.1352, 0.1) on the proposal (0.1 is not a float32: double only).
    decode_case("box_decode/reference_clamp", (10.0, 10.0, 5.0, 5.0),
                torch.tensor([[0.5, -0.5, 25.0, 0.1]], dtype=F64), prop, double_only=True)
    for weights in [(10.0, 10.0, 5.0, 5.0), (1.0, 1.0, 1.0, 1.0)]:
        ww = weights[2]
        for n, k in [(0, 1), (1, 1), (9, 1), (17, 3)]:
            anchors = f32(grid_boxes(n) + uniform(0, 1, n, 4))
            deltas = randn(n, 4 * k, scale=0.7 * ww)
            # a few size deltas beyond the clip (clamped: no gradient)
            if n:
                over = torch.rand(n, 4 * k) < 0.15
                over[:, 0::4] = False
                over[:, 1::4] = False
                deltas = torch.where(over, f32(torch.full_like(deltas, (CLIP + 0.5) * ww)), deltas)
            decode_case("box_decode/w%s/n%d_k%d" % ("_".join("%g" % w for w in weights), n, k), weights, deltas, anchors)


# ----------------------------------------------------------------------------
# Matcher
# ----------------------------------------------------------------------------

def gen_matcher(col):
    q = lambda rows: torch.tensor(rows, dtype=F64)
    crafted = [
        # (name, matrix G x N), values on a 1/64 grid (exact in float32 and float64)
        ("ties_in_column", q([[0.75, 0.5, 0.25, 0.0], [0.75, 0.5, 0.5, 0.125]])),
        ("low_quality_restore", q([[0.125, 0.0625, 0.0, 0.25], [0.0, 0.1875, 0.1875, 0.0]])),
        ("low_quality_ties", q([[0.25, 0.25, 0.125, 0.25, 0.0], [0.0, 0.25, 0.375, 0.375, 0.0]])),
        ("restore_other_gt", q([[0.3125, 0.25, 0.0], [0.375, 0.0, 0.0], [0.0, 0.0, 0.5]])),
        ("on_thresholds", q([[0.5, 0.75, 0.25, 0.0, 1.0, 0.4375], [0.0, 0.5, 0.5, 0.546875, 0.0, 0.4375]])),
        ("all_zero", q([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])),
        ("single_gt", q([[0.0, 0.203125, 0.703125, 0.5, 0.296875, 0.6875]])),
        ("one_prediction", q([[0.25], [0.375], [0.125]])),
    ]
    g = torch.Generator().manual_seed(7)
    for n, (gt, pred) in enumerate([(3, 40), (5, 129), (1, 600), (4, 1100), (20, 300)]):
        m = torch.randint(0, 65, (gt, pred), generator=g).to(F64) / 64.0
        crafted.append(("random_%dx%d" % (gt, pred), m))
    presets = [("rpn", 0.7, 0.3, True), ("roi", 0.5, 0.5, False), ("retinanet", 0.5, 0.4, True),
               ("rpn_no_low_quality", 0.7, 0.3, False)]
    for cname, m in crafted:
        for pname, high, low, allow in presets:
            matcher = det_utils.Matcher(high, low, allow_low_quality_matches=allow)
            matches = matcher(m.clone())
            m32 = matcher(m.to(F32))
            assert torch.equal(matches, m32), (cname, pname)
            col.add("matcher/%s/%s" % (cname, pname), "matcher", {"high": high, "low": low, "allow_low_quality": allow},
                    {"quality": m}, {"matches": matches})


# ----------------------------------------------------------------------------
# Faster R-CNN: RPN
# ----------------------------------------------------------------------------

def make_rpn():
    return RegionProposalNetwork(None, None, 0.7, 0.3, 256, 0.5, {"training": 1, "testing": 1},
                                 {"training": 1, "testing": 1}, 0.7)


ANCHOR_SHAPES = [(8, 8), (16, 8), (8, 16), (16, 16), (32, 16), (16, 32)]


def rpn_inputs(counts, size, stride, shapes=ANCHOR_SHAPES):
    anchors = grid_anchors(size, stride, shapes)
    gts = [near_truths(anchors, c) for c in counts]
    return anchors, gts


def rpn_labels_f32_agree(rpn, anchors, targets):
    l64, _ = rpn.assign_targets_to_anchors([anchors] * len(targets), targets)
    t32 = [{"boxes": t["boxes"].to(F32)} for t in targets]
    l32, _ = rpn.assign_targets_to_anchors([anchors.to(F32)] * len(targets), t32)
    return all(torch.equal(a, b) for a, b in zip(l64, l32))


def gen_rpn(col):
    rpn = make_rpn()

    # assign_targets_to_anchors + encode
    for name, counts, size, stride in [("mixed", [0, 1, 5], 64, 16), ("many", [40, 12], 96, 16), ("single", [1], 32, 8)]:
        for attempt in range(100):
            anchors, gts = rpn_inputs(counts, size, stride)
            targets = [{"boxes": g} for g in gts]
            if rpn_labels_f32_agree(rpn, anchors, targets):
                break
        else:
            raise RuntimeError("no float32-stable rpn_assign inputs")
        labels, matched = rpn.assign_targets_to_anchors([anchors] * len(gts), targets)
        reg = rpn.box_coder.encode(matched, [anchors] * len(gts))
        col.add("rpn_assign/" + name, "rpn_assign", {},
                {"anchors": anchors, "gt_boxes": torch.cat(gts) if gts else torch.zeros(0, 4, dtype=F64),
                 "gt_counts": split_counts(counts)},
                {"labels": torch.cat(labels).to(I64), "regression_targets": torch.cat(reg)})

    # compute_loss with a fixed (monkeypatched) selection, more candidates than the sampler takes
    for name, counts, size, stride in [("sampled", [3, 0, 25], 96, 8), ("small", [2], 48, 16)]:
        anchors, gts = rpn_inputs(counts, size, stride)
        targets = [{"boxes": g} for g in gts]
        labels, matched = rpn.assign_targets_to_anchors([anchors] * len(gts), targets)
        reg = rpn.box_coder.encode(matched, [anchors] * len(gts))
        pos_masks, neg_masks = [], []
        for lab in labels:
            pos = torch.where(lab >= 1)[0]
            neg = torch.where(lab == 0)[0]
            npos = min(pos.numel(), 128)
            nneg = min(neg.numel(), 256 - npos)
            pm = torch.zeros_like(lab, dtype=torch.uint8)
            nm = torch.zeros_like(lab, dtype=torch.uint8)
            pm[pos[torch.randperm(pos.numel())[:npos]]] = 1
            nm[neg[torch.randperm(neg.numel())[:nneg]]] = 1
            pos_masks.append(pm)
            neg_masks.append(nm)
        rpn.fg_bg_sampler = lambda _labels, pm=pos_masks, nm=neg_masks: (pm, nm)
        n_all = anchors.shape[0] * len(gts)
        objectness = randn(n_all, 1, scale=2.0)
        deltas = randn(n_all, 4, scale=0.3)
        reg_all = torch.cat(reg)
        # the targets are inputs of compute_loss: keep them float32-representable
        reg32 = [f32(r) for r in reg]
        o = objectness.clone().requires_grad_(True)
        d = deltas.clone().requires_grad_(True)
        # assign_targets_to_anchors makes float32 labels; in float64 (exact 1/0/-1) so the BCE runs in float64
        lo, lb = rpn.compute_loss(o, d, [l.to(F64) for l in labels], reg32)
        go, gd = torch.autograd.grad(lo + lb, (o, d))
        selection = torch.cat(pos_masks).to(I64) + 2 * torch.cat(neg_masks).to(I64)
        col.add("rpn_loss/" + name, "rpn_loss", {},
                {"objectness": objectness.reshape(-1), "deltas": deltas, "labels": torch.cat(labels).to(I64),
                 "regression_targets": torch.cat(reg32), "selection": selection},
                {"objectness": lo.detach(), "box": lb.detach(), "grad_objectness": go.reshape(-1), "grad_deltas": gd})
        del reg_all
    rpn = make_rpn()

    # the full path with the real sampler, every candidate taken (<= 256 anchors per image, <= 128 positives)
    for name, counts, size, stride in [("mixed", [0, 1, 5], 64, 16), ("many_truths", [30], 96, 16),
                                       ("no_truths", [0, 0], 32, 16), ("one_image", [4], 48, 8)]:
        for attempt in range(100):
            anchors, gts = rpn_inputs(counts, size, stride)
            targets = [{"boxes": g} for g in gts]
            if rpn_labels_f32_agree(rpn, anchors, targets):
                break
        else:
            raise RuntimeError("no float32-stable rpn_full inputs")
        assert anchors.shape[0] <= 256
        labels, matched = rpn.assign_targets_to_anchors([anchors] * len(gts), targets)
        for lab in labels:
            assert int((lab >= 1).sum()) <= 128
        reg = rpn.box_coder.encode(matched, [anchors] * len(gts))
        n_all = anchors.shape[0] * len(gts)
        objectness = randn(n_all, 1, scale=2.0)
        deltas = randn(n_all, 4, scale=0.3)
        o = objectness.clone().requires_grad_(True)
        d = deltas.clone().requires_grad_(True)
        lo, lb = rpn.compute_loss(o, d, [l.to(F64) for l in labels], [r.to(F64) for r in reg])
        go, gd = torch.autograd.grad(lo + lb, (o, d))
        col.add("rpn_full/" + name, "rpn_full", {},
                {"objectness": objectness.reshape(-1), "deltas": deltas, "anchors": anchors,
                 "gt_boxes": torch.cat(gts), "gt_counts": split_counts(counts)},
                {"objectness": lo.detach(), "box": lb.detach(), "grad_objectness": go.reshape(-1), "grad_deltas": gd})


# ----------------------------------------------------------------------------
# Faster R-CNN: RoI heads
# ----------------------------------------------------------------------------

def make_roi_heads():
    return RoIHeads(None, None, None, 0.5, 0.5, 512, 0.25, None, 0.05, 0.5, 100)


def gen_roi(col):
    heads = make_roi_heads()
    for name, pcounts, gcounts, classes in [("mixed", [40, 25, 10], [3, 0, 7], 6), ("one_image", [60], [12], 81),
                                            ("no_proposals", [0, 5], [2, 1], 3)]:
        for attempt in range(100):
            proposals, gts, labels = [], [], []
            for p, g in zip(pcounts, gcounts):
                gt = grid_boxes(g, hi=80, smin=4, smax=30)
                # half the proposals near the ground truths, half anywhere
                near = near_truths(gt, p // 2) if g else grid_boxes(p // 2, hi=80)
                proposals.append(torch.cat([near, grid_boxes(p - p // 2, hi=80)]))
                gts.append(gt)
                labels.append(randint(1, classes, g))
            targets = [{"boxes": b, "labels": l} for b, l in zip(gts, labels)]
            _, _, l64, _ = heads.select_training_samples([p.clone() for p in proposals], targets)
            t32 = [{"boxes": b.to(F32), "labels": l} for b, l in zip(gts, labels)]
            _, _, l32, _ = heads.select_training_samples([p.to(F32) for p in proposals], t32)
            if all(torch.equal(a, b) for a, b in zip(l64, l32)):
                break
        else:
            raise RuntimeError("no float32-stable roi inputs")
        props, matched, lab, reg = heads.select_training_samples([p.clone() for p in proposals], targets)
        for p, g, l in zip(pcounts, gcounts, lab):
            assert l.numel() == p + g  # every candidate taken
            assert int((l > 0).sum()) <= 128
        col.add("roi_select/" + name, "roi_select", {"classes": classes},
                {"proposals": torch.cat(proposals) if sum(pcounts) else torch.zeros(0, 4, dtype=F64),
                 "proposal_counts": split_counts(pcounts),
                 "gt_boxes": torch.cat(gts), "gt_labels": torch.cat(labels), "gt_counts": split_counts(gcounts)},
                {"proposals": torch.cat(props), "labels": torch.cat(lab), "regression_targets": torch.cat(reg),
                 "counts": torch.tensor([l.numel() for l in lab], dtype=I64)})

    for name, s, classes, pos_frac in [("s30_c6", 30, 6, 0.4), ("s1_c2", 1, 2, 1.0), ("s24_c81", 24, 81, 0.25),
                                       ("all_background", 9, 4, 0.0), ("all_positive", 12, 3, 1.0), ("empty", 0, 5, 0.0)]:
        logits = randn(s, classes, scale=2.0)
        box_regression = randn(s, 4 * classes, scale=0.5)
        labels = torch.where(torch.rand(s) < pos_frac, randint(1, max(classes, 2), s), torch.zeros(s, dtype=I64))
        if classes == 1:
            labels.zero_()
        targets = randn(s, 4, scale=0.5)
        x = logits.clone().requires_grad_(True)
        r = box_regression.clone().requires_grad_(True)
        lc, lb = fastrcnn_loss(x, r, [labels], [targets])
        if s:
            gx, gr = torch.autograd.grad(lc + lb, (x, r))
        else:
            gx, gr = torch.zeros_like(x), torch.zeros_like(r)
        col.add("fastrcnn_loss/" + name, "fastrcnn_loss", {"classes": classes},
                {"class_logits": logits, "box_regression": box_regression, "labels": labels, "regression_targets": targets},
                {"classifier": lc.detach(), "box": lb.detach(), "grad_class_logits": gx, "grad_box_regression": gr})


# ----------------------------------------------------------------------------
# RetinaNet
# ----------------------------------------------------------------------------

RETINA_SHAPES = [(8, 8), (12, 6), (6, 12), (16, 16), (24, 12), (12, 24), (32, 32), (48, 24), (24, 48)]


def retina_matches(matcher, anchors, gts):
    out = []
    for g in gts:
        if g.numel() == 0:
            out.append(torch.full((anchors.shape[0],), -1, dtype=I64))
        else:
            out.append(matcher(box_iou(g, anchors)))
    return out


def gen_retinanet(col):
    matcher = det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=True)
    for name, counts, size, stride, classes in [("mixed", [3, 0, 12], 64, 16, 5), ("many", [25], 96, 16, 4),
                                                 ("single_class", [2, 1], 48, 16, 1), ("no_truths", [0], 32, 16, 3)]:
        for attempt in range(100):
            anchors = grid_anchors(size, stride, RETINA_SHAPES)
            gts = [near_truths(anchors, c) for c in counts]
            m64 = retina_matches(matcher, anchors, gts)
            m32 = retina_matches(matcher, anchors.to(F32), [g.to(F32) for g in gts])
            if all(torch.equal(a, b) for a, b in zip(m64, m32)):
                break
        else:
            raise RuntimeError("no float32-stable retinanet inputs")
        labels = [randint(0, classes, c) for c in counts]
        targets = [{"boxes": g, "labels": l} for g, l in zip(gts, labels)]
        a = anchors.shape[0]
        logits = f32(randn(len(counts), a, classes, scale=2.0) - 2.0)
        regression = randn(len(counts), a, 4, scale=0.4)
        for loss_type in ["l1", "smooth_l1", "giou", "diou", "ciou"]:
            head = RetinaNetHead(4, 9, classes)
            head.regression_head._loss_type = loss_type
            fake = types.SimpleNamespace(proposal_matcher=matcher, head=head)
            x = logits.clone().requires_grad_(True)
            r = regression.clone().requires_grad_(True)
            losses = RetinaNet.compute_loss(fake, targets, {"cls_logits": x, "bbox_regression": r}, [anchors] * len(counts))
            lc, lb = losses["classification"], losses["bbox_regression"]
            gx, gr = torch.autograd.grad(lc + lb, (x, r))
            col.add("retinanet/%s/%s" % (name, loss_type), "retinanet", {"classes": classes, "box_loss": loss_type},
                    {"class_logits": logits, "box_regression": regression, "anchors": anchors,
                     "gt_boxes": torch.cat(gts), "gt_labels": torch.cat(labels), "gt_counts": split_counts(counts)},
                    {"classification": lc.detach(), "box": lb.detach(), "grad_class_logits": gx, "grad_box_regression": gr,
                     "matches": torch.cat(m64)})


# ----------------------------------------------------------------------------
# YOLOv3
# ----------------------------------------------------------------------------

MASKS = [[6, 7, 8], [3, 4, 5], [0, 1, 2]]


def darknet_iou(ax, ay, aw, ah, bx, by, bw, bh):
    """darknet box_iou on centre boxes: overlap = min(right) - max(left), 0 if either overlap is negative."""
    ow = torch.minimum(ax + aw / 2, bx + bw / 2) - torch.maximum(ax - aw / 2, bx - bw / 2)
    oh = torch.minimum(ay + ah / 2, by + bh / 2) - torch.maximum(ay - ah / 2, by - bh / 2)
    inter = torch.where((ow < 0) | (oh < 0), torch.zeros_like(ow), ow * oh)
    union = aw * ah + bw * bh - inter
    return inter / union


def t64(v):
    return torch.tensor(v, dtype=F64)


def darknet_best_anchor(w, h, anchors, netw, neth):
    """Best of the nine anchors by shape IoU (strict >, first wins); also returns the sorted IoUs for margin checks."""
    ious = []
    best, best_n = 0.0, 0
    for a in range(9):
        iou = float(darknet_iou(t64(0.0), t64(0.0), t64(anchors[a][0] / netw), t64(anchors[a][1] / neth), t64(0.0), t64(0.0), w, h))
        ious.append(iou)
        if iou > best:
            best, best_n = iou, a
    return best_n, sorted(ious, reverse=True)


def yolo_darknet_reference(outs, boxes, labels, counts, anchors, netw, neth, classes, thresh, check=None):
    """Independent reference of darknet's yolo layer loss (REFERENCES.md section 5); returns (box, obj, cls) / batch."""
    batch = len(counts)
    offs = [0]
    for c in counts:
        offs.append(offs[-1] + c)
    box = torch.zeros((), dtype=F64)
    obj = torch.zeros((), dtype=F64)
    cls = torch.zeros((), dtype=F64)
    for layer, out in enumerate(outs):
        _, _, H, W = out.shape
        o = out.view(batch, 3, 5 + classes, H, W)
        jj, ii = torch.meshgrid(torch.arange(H, dtype=F64), torch.arange(W, dtype=F64), indexing="ij")
        for b in range(batch):
            tb = boxes[offs[b]:offs[b + 1]]
            lb = labels[offs[b]:offs[b + 1]]
            with torch.no_grad():
                ignore = torch.zeros(3, H, W, dtype=torch.bool)
                if tb.shape[0]:
                    for n in range(3):
                        a = MASKS[layer][n]
                        bx = (ii + torch.sigmoid(o[b, n, 0])) / W
                        by = (jj + torch.sigmoid(o[b, n, 1])) / H
                        bw = torch.exp(o[b, n, 2]) * anchors[a][0] / netw
                        bh = torch.exp(o[b, n, 3]) * anchors[a][1] / neth
                        ious = torch.stack([darknet_iou(bx, by, bw, bh, *tb[t]) for t in range(tb.shape[0])])
                        best = ious.max(0).values
                        ignore[n] = best > thresh
                        if check is not None:
                            check["ignore_margin"] = min(check["ignore_margin"], float((best - thresh).abs().min()))
            pos = {}
            for t in range(tb.shape[0]):
                cx, cy, w, h = tb[t]
                best_n, ranked = darknet_best_anchor(w, h, anchors, netw, neth)
                if check is not None:
                    check["anchor_margin"] = min(check["anchor_margin"], ranked[0] - ranked[1])
                if best_n not in MASKS[layer]:
                    continue
                n = MASKS[layer].index(best_n)
                i = int(cx * W)
                j = int(cy * H)
                if check is not None:
                    check["cell_margin"] = min(check["cell_margin"], float(cx * W - i), float(i + 1 - cx * W),
                                               float(cy * H - j), float(j + 1 - cy * H))
                e = pos.setdefault((n, j, i), {"classes": set()})
                e["box"] = (cx * W - i, cy * H - j, torch.log(w * netw / anchors[best_n][0]), torch.log(h * neth / anchors[best_n][1]))
                e["scale"] = 2 - w * h
                e["classes"].add(int(lb[t]))
            target = torch.zeros(3, H, W, dtype=F64)
            weight = (~ignore).to(F64)
            for (n, j, i) in pos:
                target[n, j, i] = 1.0
                weight[n, j, i] = 1.0
            obj = obj + (weight * F.binary_cross_entropy_with_logits(o[b, :, 4], target, reduction="none")).sum()
            for (n, j, i), e in pos.items():
                tx, ty, tw, th = e["box"]
                s = e["scale"]
                box = box + s * (F.binary_cross_entropy_with_logits(o[b, n, 0, j, i], tx)
                                 + F.binary_cross_entropy_with_logits(o[b, n, 1, j, i], ty))
                box = box + 0.5 * s * ((tw - o[b, n, 2, j, i]) ** 2 + (th - o[b, n, 3, j, i]) ** 2)
                ct = torch.zeros(classes, dtype=F64)
                ct[sorted(e["classes"])] = 1.0
                cls = cls + F.binary_cross_entropy_with_logits(o[b, n, 5:, j, i], ct, reduction="sum")
    return box / batch, obj / batch, cls / batch


def wh_iou(box1, box2):
    """ultralytics/yolov3 archive wh_iou: box1 = one anchor (2,), box2 = n x 2."""
    box2 = box2.t()
    w1, h1 = box1[0], box1[1]
    w2, h2 = box2[0], box2[1]
    inter = torch.min(w1, w2) * torch.min(h1, h2)
    union = (w1 * h1 + 1e-16) + w2 * h2 - inter
    return inter / union


def bbox_iou_archive(box1, box2, giou=False, ciou=False):
    """ultralytics/yolov3 archive bbox_iou(box1 = 4 x n, box2 = n x 4, x1y1x2y2=False)."""
    box2 = box2.t()
    b1_x1, b1_x2 = box1[0] - box1[2] / 2, box1[0] + box1[2] / 2
    b1_y1, b1_y2 = box1[1] - box1[3] / 2, box1[1] + box1[3] / 2
    b2_x1, b2_x2 = box2[0] - box2[2] / 2, box2[0] + box2[2] / 2
    b2_y1, b2_y2 = box2[1] - box2[3] / 2, box2[1] + box2[3] / 2
    inter = (torch.min(b1_x2, b2_x2) - torch.max(b1_x1, b2_x1)).clamp(0) * \
            (torch.min(b1_y2, b2_y2) - torch.max(b1_y1, b2_y1)).clamp(0)
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1
    union = (w1 * h1 + 1e-16) + w2 * h2 - inter
    iou = inter / union
    cw = torch.max(b1_x2, b2_x2) - torch.min(b1_x1, b2_x1)
    ch = torch.max(b1_y2, b2_y2) - torch.min(b1_y1, b2_y1)
    if giou:
        c_area = cw * ch + 1e-16
        return iou - (c_area - union) / c_area
    c2 = cw ** 2 + ch ** 2 + 1e-16
    rho2 = ((b2_x1 + b2_x2) - (b1_x1 + b1_x2)) ** 2 / 4 + ((b2_y1 + b2_y2) - (b1_y1 + b1_y2)) ** 2 / 4
    v = (4 / math.pi ** 2) * torch.pow(torch.atan(w2 / h2) - torch.atan(w1 / h1), 2)
    with torch.no_grad():
        alpha = v / (1 - iou + v)
    return iou - (rho2 / c2 + v * alpha)


def yolo_ultralytics_reference(outs, boxes, labels, counts, anchors, classes, box_loss="giou", check=None,
                               iou_t=0.20, gr=1.0, gains=(3.54, 64.3, 37.4)):
    """ultralytics/yolov3 archive build_targets + compute_loss (+ train.py's cls x nc/80 and loss x bs/64)."""
    batch = len(counts)
    image = torch.cat([torch.full((c,), i, dtype=F64) for i, c in enumerate(counts)]) if sum(counts) else torch.zeros(0, dtype=F64)
    targets = torch.cat([image[:, None], labels.to(F64)[:, None], boxes], 1)
    nt = targets.shape[0]
    lbox = torch.zeros((), dtype=F64)
    lobj = torch.zeros((), dtype=F64)
    lcls = torch.zeros((), dtype=F64)
    for layer, out in enumerate(outs):
        _, _, H, W = out.shape
        pi = out.view(batch, 3, 5 + classes, H, W).permute(0, 1, 3, 4, 2)
        stride = 32 >> layer
        anchor_vec = torch.tensor([anchors[a] for a in MASKS[layer]], dtype=F64) / stride
        ng = torch.tensor([W, H], dtype=F64)
        t, a = targets, torch.zeros(0, dtype=I64)
        gwh = t[:, 4:6] * ng
        if nt:
            iou = torch.stack([wh_iou(x, gwh) for x in anchor_vec], 0)
            na = anchor_vec.shape[0]
            a = torch.arange(na).view((-1, 1)).repeat([1, nt]).view(-1)
            t = targets.repeat([na, 1])
            gwh = gwh.repeat([na, 1])
            iou = iou.view(-1)
            if check is not None:
                check["anchor_margin"] = min(check["anchor_margin"], float((iou - iou_t).abs().min()))
            j = iou > iou_t
            t, a, gwh = t[j], a[j], gwh[j]
        b, c = t[:, :2].long().t()
        gxy = t[:, 2:4] * ng
        gi, gj = gxy.long().t()
        if check is not None and gxy.numel():
            frac = gxy - gxy.floor()
            check["cell_margin"] = min(check["cell_margin"], float(frac.min()), float((1 - frac).min()))
        gxy = gxy - gxy.floor()
        tbox = torch.cat((gxy, gwh), 1)
        av = anchor_vec[a]
        tobj = torch.zeros_like(pi[..., 0])
        nb = b.shape[0]
        if nb:
            ps = pi[b, a, gj, gi]
            pxy = torch.sigmoid(ps[:, 0:2])
            pbox = torch.cat((pxy, torch.exp(ps[:, 2:4]).clamp(max=1e3) * av), 1)
            iou = bbox_iou_archive(pbox.t(), tbox, giou=box_loss == "giou", ciou=box_loss == "ciou")
            lbox = lbox + (1.0 - iou).mean()
            values = (1.0 - gr) + gr * iou.detach().clamp(0).type(tobj.dtype)
            tobj[b, a, gj, gi] = values
            # duplicates: the last match wins (what the C# side implements); check torch agrees
            keys = list(zip(b.tolist(), a.tolist(), gj.tolist(), gi.tolist()))
            last = {}
            for k, key in enumerate(keys):
                last[key] = k
            for key, k in last.items():
                assert float(tobj[key]) == float(values[k]), "index_put duplicate order"
            if check is not None:
                check["duplicates"] = check.get("duplicates", 0) + len(keys) - len(last)
            if classes > 1:
                tt = torch.zeros_like(ps[:, 5:])
                tt[range(nb), c] = 1.0
                lcls = lcls + F.binary_cross_entropy_with_logits(ps[:, 5:], tt)
        lobj = lobj + F.binary_cross_entropy_with_logits(pi[..., 4], tobj)
    scale = batch / 64
    return (lbox * gains[0] * scale, lobj * gains[1] * scale, lcls * gains[2] * (classes / 80) * scale)


def yolo_truths(counts, classes, anchors, netw, neth, spread=1.0):
    """Normalised (cx, cy, w, h) ground truths, float32-representable, sizes around the anchors."""
    n = sum(counts)
    cx = uniform(0.02, 0.98, n)
    cy = uniform(0.02, 0.98, n)
    a = torch.randint(0, 9, (n,))
    aw = torch.tensor([anchors[k][0] for k in a.tolist()], dtype=F64) / netw
    ah = torch.tensor([anchors[k][1] for k in a.tolist()], dtype=F64) / neth
    w = f32(torch.clamp(aw * torch.exp(uniform(-0.6, 0.6, n) * spread), max=0.95))
    h = f32(torch.clamp(ah * torch.exp(uniform(-0.6, 0.6, n) * spread), max=0.95))
    boxes = torch.stack([cx, cy, w, h], 1)
    return boxes, randint(0, classes, n)


def yolo_outputs(batch, classes, netw, neth, scale=1.0):
    outs = []
    for layer in range(3):
        stride = 32 >> layer
        outs.append(randn(batch, 3 * (5 + classes), neth // stride, netw // stride, scale=scale))
    return outs


SMALL_ANCHORS = [[3, 4], [5, 9], [10, 7], [9, 18], [19, 14], [18, 36], [36, 28], [48, 61], [90, 80]]
DARKNET_ANCHORS = [[10, 13], [16, 30], [33, 23], [30, 61], [62, 45], [59, 119], [116, 90], [156, 198], [373, 326]]


def gen_yolo(col):
    configs = [
        # name, counts, classes, net w, net h, anchors (None = darknet default), output scale
        ("small_mixed", [0, 3, 9], 4, 96, 64, SMALL_ANCHORS, 1.0),
        ("single_class", [2, 1], 1, 64, 64, SMALL_ANCHORS, 1.0),
        ("crowded", [24], 3, 128, 96, SMALL_ANCHORS, 0.7),
        ("no_truths", [0, 0], 2, 64, 64, SMALL_ANCHORS, 1.0),
        ("darknet_anchors_256", [6], 1, 256, 256, None, 1.0),
    ]
    for name, counts, classes, netw, neth, anchors, scale in configs:
        anchor_list = anchors if anchors is not None else DARKNET_ANCHORS
        # inputs whose decisions (darknet and ultralytics) sit away from their thresholds
        for attempt in range(400):
            boxes, labels = yolo_truths(counts, classes, anchor_list, netw, neth)
            outs = yolo_outputs(len(counts), classes, netw, neth, scale)
            if well_separated(outs, boxes, labels, counts, anchor_list, netw, neth, classes):
                break
        else:
            raise RuntimeError("no well-separated yolo inputs for " + name)
        variants = ["darknet"] if anchors is None else ["darknet", "ultralytics_giou", "ultralytics_ciou"]
        stats = {"anchor_margin": 1.0, "cell_margin": 1.0}
        for variant in variants:
            xs = [o.clone().requires_grad_(True) for o in outs]
            if variant == "darknet":
                lb, lo, lc = yolo_darknet_reference(xs, boxes, labels, counts, anchor_list, netw, neth, classes, 0.7)
            else:
                lb, lo, lc = yolo_ultralytics_reference(xs, boxes, labels, counts, anchor_list, classes,
                                                        box_loss=variant.split("_")[1], check=stats)
            grads = torch.autograd.grad(lb + lo + lc, xs, allow_unused=True)
            grads = [torch.zeros_like(x) if g is None else g for g, x in zip(grads, xs)]
            inputs = {"output0": outs[0], "output1": outs[1], "output2": outs[2], "gt_boxes": boxes,
                      "gt_labels": labels, "gt_counts": split_counts(counts)}
            params = {"classes": classes, "input_width": netw, "input_height": neth, "ignore_threshold": 0.7,
                      "variant": variant}
            if anchors is not None:
                params["anchors"] = [float(v) for pair in anchors for v in pair]
            if variant != "darknet":
                params["duplicate_matches"] = stats.get("duplicates", 0)
                stats["duplicates"] = 0
            col.add("yolo/%s/%s" % (name, variant), "yolo", params, inputs,
                    {"box": lb.detach(), "objectness": lo.detach(), "classification": lc.detach(),
                     "grad0": grads[0], "grad1": grads[1], "grad2": grads[2]})

    # ignore band exercised: some slots' predictions decoded onto (near) the ground truths
    netw = neth = 64
    classes = 2
    counts = [4, 2]
    for attempt in range(400):
        boxes, labels = yolo_truths(counts, classes, SMALL_ANCHORS, netw, neth, spread=0.3)
        outs = yolo_outputs(2, classes, netw, neth, scale=0.3)
        steer(outs, boxes, counts, SMALL_ANCHORS, netw, neth, classes)
        if well_separated(outs, boxes, labels, counts, SMALL_ANCHORS, netw, neth, classes):
            ignored = count_ignored(outs, boxes, counts, SMALL_ANCHORS, netw, neth, classes)
            if ignored >= 3:
                break
    else:
        raise RuntimeError("no ignore-band yolo inputs")
    for variant in ["darknet", "ultralytics_giou"]:
        xs = [o.clone().requires_grad_(True) for o in outs]
        if variant == "darknet":
            lb, lo, lc = yolo_darknet_reference(xs, boxes, labels, counts, SMALL_ANCHORS, netw, neth, classes, 0.7)
        else:
            lb, lo, lc = yolo_ultralytics_reference(xs, boxes, labels, counts, SMALL_ANCHORS, classes, box_loss="giou")
        grads = torch.autograd.grad(lb + lo + lc, xs)
        col.add("yolo/steered/" + variant, "yolo",
                {"classes": classes, "input_width": netw, "input_height": neth, "ignore_threshold": 0.7, "variant": variant,
                 "anchors": [float(v) for pair in SMALL_ANCHORS for v in pair], "ignored": ignored},
                {"output0": outs[0], "output1": outs[1], "output2": outs[2], "gt_boxes": boxes, "gt_labels": labels,
                 "gt_counts": split_counts(counts)},
                {"box": lb.detach(), "objectness": lo.detach(), "classification": lc.detach(),
                 "grad0": grads[0], "grad1": grads[1], "grad2": grads[2]})


def well_separated(outs, boxes, labels, counts, anchors, netw, neth, classes):
    """Darknet's and ultralytics' discrete decisions are at least a margin away from their thresholds."""
    check = {"ignore_margin": 1.0, "anchor_margin": 1.0, "cell_margin": 1.0}
    u = {"anchor_margin": 1.0, "cell_margin": 1.0}
    with torch.no_grad():
        yolo_darknet_reference(outs, boxes, labels, counts, anchors, netw, neth, classes, 0.7, check)
        yolo_ultralytics_reference(outs, boxes, labels, counts, anchors, classes, check=u)
    return (check["ignore_margin"] > 1e-4 and check["anchor_margin"] > 1e-5 and check["cell_margin"] > 1e-5
            and u["anchor_margin"] > 1e-5 and u["cell_margin"] > 1e-5)


def steer(outs, boxes, counts, anchors, netw, neth, classes):
    """For every ground truth, set the raw outputs of its cell's slots in every layer so that the decoded box lies
    within a few percent of the ground truth (those slots land in darknet's ignore band unless they are positive)."""
    offs = [0]
    for c in counts:
        offs.append(offs[-1] + c)
    for layer, out in enumerate(outs):
        _, _, H, W = out.shape
        o = out.view(len(counts), 3, 5 + classes, H, W)
        for b in range(len(counts)):
            for t in range(offs[b], offs[b + 1]):
                cx, cy, w, h = [float(v) for v in boxes[t]]
                i, j = int(cx * W), int(cy * H)
                for n in range(3):
                    a = MASKS[layer][n]
                    fx = min(max(cx * W - i + float(uniform(-0.03, 0.03)), 0.02), 0.98)
                    fy = min(max(cy * H - j + float(uniform(-0.03, 0.03)), 0.02), 0.98)
                    o[b, n, 0, j, i] = float(f32(torch.tensor(math.log(fx / (1 - fx)))))
                    o[b, n, 1, j, i] = float(f32(torch.tensor(math.log(fy / (1 - fy)))))
                    o[b, n, 2, j, i] = float(f32(torch.tensor(math.log(w * netw / anchors[a][0]) + float(uniform(-0.08, 0.08)))))
                    o[b, n, 3, j, i] = float(f32(torch.tensor(math.log(h * neth / anchors[a][1]) + float(uniform(-0.08, 0.08)))))


def count_ignored(outs, boxes, counts, anchors, netw, neth, classes):
    """Slots whose decoded box has IoU > 0.7 with a ground truth of their image."""
    total = 0
    offs = [0]
    for c in counts:
        offs.append(offs[-1] + c)
    for layer, out in enumerate(outs):
        _, _, H, W = out.shape
        o = out.view(len(counts), 3, 5 + classes, H, W)
        jj, ii = torch.meshgrid(torch.arange(H, dtype=F64), torch.arange(W, dtype=F64), indexing="ij")
        for b in range(len(counts)):
            tb = boxes[offs[b]:offs[b + 1]]
            if not tb.shape[0]:
                continue
            for n in range(3):
                a = MASKS[layer][n]
                bx = (ii + torch.sigmoid(o[b, n, 0])) / W
                by = (jj + torch.sigmoid(o[b, n, 1])) / H
                bw = torch.exp(o[b, n, 2]) * anchors[a][0] / netw
                bh = torch.exp(o[b, n, 3]) * anchors[a][1] / neth
                ious = torch.stack([darknet_iou(bx, by, bw, bh, *tb[t]) for t in range(tb.shape[0])])
                total += int((ious.max(0).values > 0.7).sum())
    return total


# ----------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------

def sanity(path):
    doc = load_strict(path)
    for c in doc["cases"]:
        for group in ("inputs", "outputs"):
            for key, t in c[group].items():
                assert math.prod(t["shape"]) == len(t["data"]), (c["name"], key)
    return doc


def main():
    col = Collector()
    gen_box_coder(col)
    gen_matcher(col)
    gen_rpn(col)
    gen_roi(col)
    gen_retinanet(col)
    gen_yolo(col)
    size = write(OUT_PATH, "tests/reference/generate_criteria.py", col.cases, torchvision=torchvision.__version__)
    doc = sanity(OUT_PATH)
    print_summary(OUT_PATH, doc, size, "kind", 18)


if __name__ == "__main__":
    sys.exit(main())
