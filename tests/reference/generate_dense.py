"""Golden file dense.json: the class-index losses on PyTorch's (N, C, d1, ..., dk) layout (segmentation-style input,
target (N, d1, ..., dk)), with torch.nn.functional and autograd, float64.

Run with Debian's PyTorch: /usr/bin/python3 tests/reference/generate_dense.py
"""

import sys

import torch
import torch.nn.functional as F

from refcommon import F64, REDUCTIONS, REFERENCE_DIR, CaseList, enc, randint, randn, uniform, write

torch.manual_seed(20261207)


def add(cases, loss, params, fn, x, t, w=None):
    shape = "x".join(str(d) for d in x.shape)
    name = "%s/%s/%s/%s" % (loss, params["reduction"], ",".join("%s=%s" % kv for kv in sorted(params.items()) if kv[0] != "reduction") or "default", shape)
    if w is not None:
        name += "/weight"
    x = x.clone().requires_grad_(True)
    value = fn(x, t, w)
    upstream = randn(*value.shape) if value.dim() > 0 else torch.tensor(1.5, dtype=F64)
    (value * upstream).sum().backward()
    case = {"name": name, "loss": loss, "params": params, "input": enc(x), "target": enc(t), "upstream": enc(upstream),
            "value": enc(value), "grad_input": enc(x.grad)}
    if w is not None:
        case["weight"] = enc(w)
    cases.append(case)


def main():
    torch.set_default_dtype(F64)
    cases = CaseList()
    shapes = [(2, 3, 4), (2, 4, 3, 5), (1, 5, 2, 2, 3), (3, 2, 1), (0, 3, 4), (2, 3, 0)]
    for shape in shapes:
        n, c, spatial = shape[0], shape[1], shape[2:]
        for red in REDUCTIONS:
            x = randn(*shape, scale=2.0)
            t = randint(0, c, n, *spatial)
            w = uniform(0.2, 2.0, c)
            for weight in (None, w):
                for ii in (-100, 1):
                    tt = t.clone()
                    if ii == 1 and tt.numel() > 0:
                        tt.view(-1)[::3] = 1
                    params = {"reduction": red, "ignore_index": ii}
                    add(cases, "cross_entropy", params,
                        lambda x, t, w, red=red, ii=ii: F.cross_entropy(x, t, weight=w, ignore_index=ii, reduction=red), x, tt, weight)
                    add(cases, "nll", params,
                        lambda x, t, w, red=red, ii=ii: F.nll_loss(x, t, weight=w, ignore_index=ii, reduction=red), x, tt, weight)
            add(cases, "cross_entropy", {"reduction": red, "label_smoothing": 0.1},
                lambda x, t, w, red=red: F.cross_entropy(x, t, label_smoothing=0.1, reduction=red), x, t)
    path = REFERENCE_DIR + "/dense.json"
    size = write(path, "tests/reference/generate_dense.py", cases.cases)
    print("%s: %d cases, %d bytes" % (path, len(cases.cases), size))


if __name__ == "__main__":
    sys.exit(main())
