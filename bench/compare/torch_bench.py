#!/usr/bin/env python3
"""PyTorch side of bench/compare: times the `losskit bench` cases the way a PyTorch user writes them
(torch.nn.functional, torchvision.ops, autograd backward), float32, median over --reps after warm-up.

Run by bench/compare with Debian's python3-torch at 2 threads and glibc malloc tuned so PyTorch runs at its best.
Writes {case: {"forward_ms": .., "fwd_bwd_ms": ..}} as JSON.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import torchvision.ops as tvo

M1 = 1_048_576
M4 = 4_194_304


def boxes(n, g):
    xy = torch.rand(n, 2, generator=g) * 100
    wh = torch.rand(n, 2, generator=g) * 50 + 1
    return torch.cat([xy, xy + wh], 1)


def qfl(pred, label, score, beta=2.0):
    # mmdetection quality_focal_loss, written from its formula.
    s = pred.sigmoid()
    loss = F.binary_cross_entropy_with_logits(pred, torch.zeros_like(pred), reduction="none") * s.pow(beta)
    pos = ((label >= 0) & (label < pred.size(1))).nonzero().squeeze(1)
    pl = label[pos]
    sf = score[pos] - s[pos, pl]
    loss[pos, pl] = F.binary_cross_entropy_with_logits(pred[pos, pl], score[pos], reduction="none") * sf.abs().pow(beta)
    return loss.sum(1).mean()


def dfl(pred, target):
    left = target.long()
    right = left + 1
    wl = right.float() - target
    wr = target - left.float()
    return (F.cross_entropy(pred, left, reduction="none") * wl + F.cross_entropy(pred, right, reduction="none") * wr).mean()


def arcface(cos, label, s=64.0, m=0.5):
    # insightface's classic ArcFace, fully differentiated.
    sin = torch.sqrt((1.0 - cos * cos).clamp(0, 1))
    phi = cos * math.cos(m) - sin * math.sin(m)
    phi = torch.where(cos > math.cos(math.pi - m), phi, cos - math.sin(math.pi - m) * m)
    onehot = torch.zeros_like(cos).scatter_(1, label.view(-1, 1), 1.0)
    logits = (onehot * phi + (1.0 - onehot) * cos) * s
    return F.cross_entropy(logits, label)


def cases(g):
    n, c = 32768, 80
    yield "cross_entropy[32768x80]", [torch.randn(n, c, generator=g)], [torch.randint(0, c, (n,), generator=g)], \
        lambda x, y: F.cross_entropy(x, y)
    yield "cross_entropy_ls0.1[32768x80]", [torch.randn(n, c, generator=g)], [torch.randint(0, c, (n,), generator=g)], \
        lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1)
    yield "bce_with_logits[1M]", [torch.randn(M1, generator=g)], [(torch.rand(M1, generator=g) < 0.5).float()], \
        lambda x, t: F.binary_cross_entropy_with_logits(x, t)
    yield "kl_div_batchmean[32768x80]", [torch.log_softmax(torch.randn(n, c, generator=g), 1)], \
        [torch.softmax(torch.randn(n, c, generator=g), 1)], lambda x, t: F.kl_div(x, t, reduction="batchmean")
    yield "hinge_embedding[1M]", [torch.randn(M1, generator=g)], [torch.randint(0, 2, (M1,), generator=g).float() * 2 - 1], \
        lambda x, y: F.hinge_embedding_loss(x, y)
    yield "multi_margin[32768x80]", [torch.randn(n, c, generator=g)], [torch.randint(0, c, (n,), generator=g)], \
        lambda x, y: F.multi_margin_loss(x, y)
    for name, fn in [("l1[4M]", F.l1_loss), ("mse[4M]", F.mse_loss),
                     ("smooth_l1_beta1/9[4M]", lambda a, b: F.smooth_l1_loss(a, b, beta=1.0 / 9)),
                     ("huber_delta1[4M]", lambda a, b: F.huber_loss(a, b, delta=1.0))]:
        yield name, [torch.randn(M4, generator=g)], [torch.randn(M4, generator=g)], fn
    a, k = 131072, 80
    yield "sigmoid_focal[131072x80]", [torch.randn(a, k, generator=g)], [(torch.rand(a, k, generator=g) < 0.01).float()], \
        lambda x, t: tvo.sigmoid_focal_loss(x, t, alpha=0.25, gamma=2.0, reduction="sum")
    for name, fn in [("giou[1M boxes]", tvo.generalized_box_iou_loss), ("diou[1M boxes]", tvo.distance_box_iou_loss),
                     ("ciou[1M boxes]", tvo.complete_box_iou_loss)]:
        yield name, [boxes(M1, g)], [boxes(M1, g)], (lambda f: lambda p, t: f(p, t, reduction="mean"))(fn)
    label = torch.where(torch.rand(a, generator=g) < 0.01, torch.randint(0, k, (a,), generator=g), torch.full((a,), k))
    yield "quality_focal[131072x80]", [torch.randn(a, k, generator=g)], [label, torch.rand(a, generator=g)], qfl
    yield "distribution_focal[262144x17]", [torch.randn(262144, 17, generator=g)], [torch.rand(262144, generator=g) * 15.9], dfl
    yield "arcface_on_cosines[4096x10000]", [torch.rand(4096, 10000, generator=g) * 2 - 1], \
        [torch.randint(0, 10000, (4096,), generator=g)], arcface
    centers = torch.randn(1000, 512, generator=g)
    yield "center[4096x512,1000]", [torch.randn(4096, 512, generator=g), centers], [torch.randint(0, 1000, (4096,), generator=g)], \
        lambda x, cen, y: 0.5 * ((x - cen[y]) ** 2).sum() / x.size(0)


def median_ms(fn, reps, warmup):
    """Median of `reps` timed calls after `warmup` untimed ones and the same settling rule as `losskit bench`: untimed
    rounds of at least 0.25 s until a round's fastest call no longer beats the best of the rounds before by more than
    3 % (at least two rounds, at most 5 s), so both sides start timing warm."""
    for _ in range(warmup):
        fn()
    start, previous, round_no = time.perf_counter(), float("inf"), 0
    while warmup > 0 and time.perf_counter() - start < 5:
        fastest, round_start = float("inf"), time.perf_counter()
        while time.perf_counter() - round_start < 0.25:
            t0 = time.perf_counter()
            fn()
            fastest = min(fastest, time.perf_counter() - t0)
        if round_no >= 1 and fastest >= 0.97 * previous:
            break
        previous = min(previous, fastest)
        round_no += 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--case", action="append", default=[])
    ap.add_argument("--json", default="-")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1234)
    out = {}
    for name, diff, const, fn in cases(g):
        if args.case and name not in args.case:
            continue
        leaves = [t.clone().requires_grad_(True) for t in diff]

        def forward():
            with torch.no_grad():
                return fn(*diff, *const)

        def fwd_bwd():
            for t in leaves:
                t.grad = None
            loss = fn(*leaves, *const)
            loss.backward()

        out[name] = {"forward_ms": median_ms(forward, args.reps, args.warmup),
                     "fwd_bwd_ms": median_ms(fwd_bwd, args.reps, args.warmup)}
        print(f"{name:32s} fwd {out[name]['forward_ms']:9.3f} ms  fwd+bwd {out[name]['fwd_bwd_ms']:9.3f} ms", file=sys.stderr)
    text = json.dumps(out, indent=1)
    if args.json == "-":
        print(text)
    else:
        with open(args.json, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
