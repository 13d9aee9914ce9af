"""Golden file pairs.json: losses over pairs of embeddings, with torch.nn.functional and autograd, float64.

Run with Debian's PyTorch: /usr/bin/python3 tests/reference/generate_pairs.py
"""

import sys

import torch
import torch.nn.functional as F

from refcommon import F64, REDUCTIONS, REFERENCE_DIR, CaseList, enc, randn, write

torch.manual_seed(20261208)


def main():
    torch.set_default_dtype(F64)
    cases = CaseList()
    for n, d in ((0, 3), (1, 1), (3, 4), (7, 16), (17, 5), (40, 9)):
        for margin in (0.0, 0.3, -0.2):
            for red in REDUCTIONS:
                x1, x2 = randn(n, d), randn(n, d)
                if n > 2:
                    x2[1] = x1[1] * 2.0       # cos = 1 exactly (up to rounding)
                    x1[2] = 0.0               # a zero vector: cos = 0 through eps
                y = (torch.randint(0, 2, (n,)) * 2 - 1).to(F64)
                # keep cos − margin away from 0 for the dissimilar pairs (the clamp's kink)
                cos = F.cosine_similarity(x1, x2, dim=1, eps=0) if n else torch.zeros(0)
                y = torch.where((cos - margin).abs() < 1e-3, torch.ones_like(y), y)
                a, b = x1.clone().requires_grad_(True), x2.clone().requires_grad_(True)
                value = F.cosine_embedding_loss(a, b, y, margin=margin, reduction=red)
                upstream = randn(*value.shape) if value.dim() > 0 else torch.tensor(0.75, dtype=F64)
                (value * upstream).sum().backward()
                name = "cosine_embedding/%s/margin=%g/n=%d,d=%d" % (red, margin, n, d)
                cases.append({"name": name, "loss": "cosine_embedding", "params": {"reduction": red, "margin": margin},
                              "input1": enc(x1), "input2": enc(x2), "target": enc(y), "upstream": enc(upstream),
                              "value": enc(value), "grad_input1": enc(a.grad), "grad_input2": enc(b.grad)})
    path = REFERENCE_DIR + "/pairs.json"
    size = write(path, "tests/reference/generate_pairs.py", cases.cases)
    print("%s: %d cases, %d bytes" % (path, len(cases.cases), size))


if __name__ == "__main__":
    sys.exit(main())
