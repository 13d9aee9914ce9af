#!/usr/bin/env python3
"""Prints the simulation side of bench/compare: wall time of `losskit simulate` and of torch_simulate.py on the same
cases, the ratio PyTorch / LossKit (target ≥ 10×), and how far the two error curves E(t) agree."""
import json
import sys

lk = json.load(open(sys.argv[1]))
pt = json.load(open(sys.argv[2]))
assert lk["cases"] == pt["cases"], "the two sides regressed different case sets"
print(f"\nDIoU simulation: {lk['cases']:,} cases × {lk['iterations']} iterations × {', '.join(pt['losses'])}, "
      f"{lk['dtype']}, {lk['threads']} threads each side")
print("| loss | LossKit E(0) | LossKit E(T) | PyTorch E(T) | max relative difference of E(t), t = 0 … T |")
print("|---|---:|---:|---:|---:|")
for name, p in pt["losses"].items():
    a, b = lk["losses"][name]["error"], p["error"]
    worst = max(abs(x - y) / max(abs(y), 1e-300) for x, y in zip(a, b))
    print(f"| {name} | {a[0]:,.1f} | {a[-1]:,.2f} | {b[-1]:,.2f} | {worst:.1e} |")
ratio = pt["seconds"] / lk["seconds"]
print(f"\nwall time: LossKit {lk['seconds']:.1f} s, PyTorch {pt['seconds']:.1f} s → ratio {ratio:.1f}× "
      f"(target ≥ 10×: {'met' if ratio >= 10 else 'NOT met'})")
