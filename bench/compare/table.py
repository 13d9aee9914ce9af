#!/usr/bin/env python3
"""Prints the bench/compare table from the JSON files of each round (`--losskit F...` `--torch F...`): medians,
PyTorch / LossKit ratios, bandwidth fractions, and with several rounds each side's fastest median per case."""
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

def load(flag):
    """The JSON files after `flag` on the command line (one per round)."""
    args = sys.argv[1:]
    if flag not in args:
        sys.exit(f"table.py: {flag} FILE... is required")
    files = []
    for a in args[args.index(flag) + 1:]:
        if a.startswith("--"):
            break
        with open(a) as f:
            files.append(json.load(f))
    if not files:
        sys.exit(f"table.py: no files after {flag}")
    return files


def fastest(rounds):
    """Per case, the fastest median of the rounds (each field separately); the triad's highest bandwidth."""
    merged = {}
    for r in rounds:
        for name, fields in r.items():
            m = merged.setdefault(name, dict(fields))
            for k, v in fields.items():
                m[k] = max(m.get(k, v), v) if name == "_triad" else min(m.get(k, v), v)
    return merged


lk_rounds, pt_rounds = load("--losskit"), load("--torch")
lk, pt = fastest(lk_rounds), fastest(pt_rounds)
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
several = len(lk_rounds) > 1 and len(lk_rounds) == len(pt_rounds)
if several:
    triads = " / ".join(f"{r['_triad']['gb_per_s']:.1f}" for r in lk_rounds if "_triad" in r)
    print(f"{len(lk_rounds)} rounds, each side's fastest median per case (triads by round: {triads} GB/s)")
print("| case | LossKit fwd ms | PyTorch fwd ms | fwd ratio | LossKit fwd+bwd ms | PyTorch fwd+bwd ms | fwd+bwd ratio | target | % triad |"
      + (" fwd+bwd ratio (% of that round's triad) by round |" if several else ""))
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if several else ""))
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
        pct = 100 * r['bytes_fwd_bwd'] / (r['fwd_bwd_ms'] * 1e6) / triad
        frac = f"{pct:.0f} % " + ("✓" if pct >= 50 else "✗")  # the bar: at least 50 % of the triad
    by_round = ""
    if several:
        def one_round(lr, pr):
            """That round's own ratio, and for the memory-bound cases its % of that round's triad."""
            text = f"{pr[name]['fwd_bwd_ms'] / lr[name]['fwd_bwd_ms']:.2f}"
            own_triad = lr.get("_triad", {}).get("gb_per_s")
            if own_triad and "bytes_fwd_bwd" in lr[name]:
                text += f" ({100 * lr[name]['bytes_fwd_bwd'] / (lr[name]['fwd_bwd_ms'] * 1e6) / own_triad:.0f} %)"
            return text
        by_round = " " + " / ".join(one_round(lr, pr) for lr, pr in zip(lk_rounds, pt_rounds) if name in lr and name in pr) + " |"
    print(f"| {name} | {r['forward_ms']:.3f} | {p['forward_ms']:.3f} | {p['forward_ms'] / r['forward_ms']:.1f}× | "
          f"{r['fwd_bwd_ms']:.3f} | {p['fwd_bwd_ms']:.3f} | {ratio:.1f}× | {met} | {frac} |{by_round}")
