#!/usr/bin/env python3
"""Prints the bench/compare table from the two JSON files: medians, PyTorch / LossKit ratios, bandwidth fractions."""
import json
import platform
import sys
import datetime

TARGETS = {  # fwd+bwd ratio targets from the performance issue
    "sigmoid_focal": 8, "quality_focal": 8, "giou": 8, "diou": 8, "ciou": 8, "arcface_on_cosines": 8,
    "cross_entropy": 3, "cross_entropy_ls0.1": 3, "kl_div_batchmean": 3, "hinge_embedding": 3, "multi_margin": 3,
    "distribution_focal": 3, "bce_with_logits": 1.5, "l1": 1.5, "mse": 1.5, "smooth_l1_beta1/9": 1.5, "huber_delta1": 1.5,
    "center": 2,
}

lk = json.load(open(sys.argv[1]))
pt = json.load(open(sys.argv[2]))
triad = lk.get("_triad", {}).get("gb_per_s")
cpu = "unknown"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
print(f"\n{datetime.date.today()} · {cpu} · {platform.machine()} · triad {triad:.1f} GB/s" if triad else "")
print("| case | LossKit fwd ms | PyTorch fwd ms | fwd ratio | LossKit fwd+bwd ms | PyTorch fwd+bwd ms | fwd+bwd ratio | target | % triad |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, r in lk.items():
    if name.startswith("_") or name not in pt:
        continue
    p = pt[name]
    key = name.split("[")[0]
    ratio = p["fwd_bwd_ms"] / r["fwd_bwd_ms"]
    target = TARGETS.get(key)
    met = "" if target is None else (f"≥ {target} ✓" if ratio >= target else f"≥ {target} ✗")
    frac = ""
    if triad and "bytes_fwd_bwd" in r:
        frac = f"{100 * r['bytes_fwd_bwd'] / (r['fwd_bwd_ms'] * 1e6) / triad:.0f} %"
    print(f"| {name} | {r['forward_ms']:.3f} | {p['forward_ms']:.3f} | {p['forward_ms'] / r['forward_ms']:.1f}× | "
          f"{r['fwd_bwd_ms']:.3f} | {p['fwd_bwd_ms']:.3f} | {ratio:.1f}× | {met} | {frac} |")
