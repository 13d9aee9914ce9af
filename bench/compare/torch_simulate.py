#!/usr/bin/env python3
"""PyTorch side of bench/compare --simulate: the DIoU paper's box-regression simulation (REFERENCES.md §6) written the
way a PyTorch user would write it, with autograd through torchvision's box losses, float64.

Cases: the anchor centres come from `losskit simulate --centers FILE` (one "x,y" line per centre) so both sides regress
exactly the same 343 cases per centre, in the same order: areas × anchor ratios × target ratios. Each iteration, per
loss: loss(box_convert(B, cxcywh → xyxy), targets).sum().backward(), then B ← B − η(2 − IoU(B))·∇B with IoU plain
(0 for disjoint or degenerate boxes) and E(t) = Σ over finite cases of |Δx| + |Δy| + |Δw| + |Δh|.

Run by bench/compare with Debian's python3-torch at 2 threads and glibc malloc tuned so PyTorch runs at its best.
Writes {"seconds": total, "losses": {name: {"seconds": .., "error": [E(0) .. E(T)]}}} as JSON.
"""
import argparse
import json
import math
import sys
import time

import torch
import torchvision.ops as tvo
from torchvision.ops._utils import _loss_inter_union

RATIOS = [1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4]
AREAS = [0.5, 0.67, 0.75, 1, 1.33, 1.5, 2]


def iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    # torchvision has no plain IoU loss; this is its GIoU loss without the enclosing-box term (same inter/union).
    inter, union = _loss_inter_union(boxes1, boxes2)
    return 1 - inter / (union + eps)


LOSSES = {
    "iou": iou_loss,
    "giou": tvo.generalized_box_iou_loss,
    "diou": tvo.distance_box_iou_loss,
    "ciou": tvo.complete_box_iou_loss,
}


def learning_rate(t):
    return 0.1 if t <= 160 else 0.01 if t <= 180 else 0.001


def build_cases(centres):
    """Anchors and targets (cxcywh, float64) in LossKit's order: centre, area, anchor ratio, target ratio."""
    p = centres.shape[0]
    aw = torch.tensor([math.sqrt(a * r) for a in AREAS for r in RATIOS], dtype=torch.float64)
    ah = torch.tensor([math.sqrt(a / r) for a in AREAS for r in RATIOS], dtype=torch.float64)
    tw = torch.tensor([math.sqrt(r) for r in RATIOS], dtype=torch.float64)
    th = torch.tensor([math.sqrt(1 / r) for r in RATIOS], dtype=torch.float64)
    shape = (p, 49, 7)
    anchors = torch.stack([
        centres[:, 0].view(p, 1, 1).expand(shape),
        centres[:, 1].view(p, 1, 1).expand(shape),
        aw.view(1, 49, 1).expand(shape),
        ah.view(1, 49, 1).expand(shape),
    ], -1).reshape(-1, 4).contiguous()
    targets = torch.stack([
        torch.full(shape, 10.0, dtype=torch.float64),
        torch.full(shape, 10.0, dtype=torch.float64),
        tw.view(1, 1, 7).expand(shape),
        th.view(1, 1, 7).expand(shape),
    ], -1).reshape(-1, 4).contiguous()
    return anchors, targets


def total_error(boxes, targets):
    e = (boxes - targets).abs().sum(1)
    return e[torch.isfinite(e)].sum().item()


def regress(loss_fn, anchors, targets, iterations):
    target_xyxy = tvo.box_convert(targets, "cxcywh", "xyxy")
    boxes = anchors.clone()
    error = [total_error(boxes, targets)]
    for t in range(1, iterations + 1):
        boxes.requires_grad_(True)
        loss_fn(tvo.box_convert(boxes, "cxcywh", "xyxy"), target_xyxy, reduction="none").sum().backward()
        with torch.no_grad():
            inter, union = _loss_inter_union(tvo.box_convert(boxes, "cxcywh", "xyxy"), target_xyxy)
            iou = torch.nan_to_num(inter / union, nan=0.0, posinf=0.0, neginf=0.0)
            step = learning_rate(t) * (2 - iou)
            boxes = boxes.detach() - step.unsqueeze(1) * boxes.grad
        error.append(total_error(boxes, targets))
    return error


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--centers", required=True, help="CSV of anchor centres written by `losskit simulate --centers`")
    ap.add_argument("--losses", default="iou,giou,diou,ciou")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.centers) as f:
        rows = [line.split(",") for line in f.read().split() if line and not line.startswith("x")]
    centres = torch.tensor([[float(x), float(y)] for x, y in rows], dtype=torch.float64)
    anchors, targets = build_cases(centres)
    out = {"cases": anchors.shape[0], "threads": args.threads, "torch": torch.__version__, "losses": {}}
    start = time.perf_counter()
    for name in args.losses.split(","):
        t0 = time.perf_counter()
        error = regress(LOSSES[name], anchors, targets, args.iterations)
        seconds = time.perf_counter() - t0
        out["losses"][name] = {"seconds": seconds, "error": error}
        print(f"  {name}: {seconds:.1f} s, E(0) {error[0]:.1f} -> E({args.iterations}) {error[-1]:.1f}", file=sys.stderr)
    out["seconds"] = time.perf_counter() - start
    with open(args.json, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
