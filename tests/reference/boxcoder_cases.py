#!/usr/bin/python3
"""Expected values for tests/LossKit.Tests/Criteria/BoxCoderContractTests.cs (torchvision 0.14, float64, autograd).

    /usr/bin/python3 tests/reference/boxcoder_cases.py

decode_single's size deltas exactly on the clip (torch.clamp passes the gradient at the bound) and above it (no
gradient), for the unit weights and the RoI-heads weights (10, 10, 5, 5).
"""
import math
import torch
from torchvision.models.detection._utils import BoxCoder

F64 = torch.float64
clip = math.log(1000.0 / 16)
anchor = torch.tensor([[2.0, 4.0, 10.0, 8.0]], dtype=F64)  # width 8, height 4
upstream = torch.tensor([[1.0, -2.0, 3.0, 0.5]], dtype=F64)
for weights in ((1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)):
    coder = BoxCoder(weights)
    for name, dw, dh in (("on_clip", clip * weights[2], clip * weights[3]),
                         ("above_clip", (clip + 0.25) * weights[2], (clip + 0.5) * weights[3]),
                         ("below_clip", 0.5 * weights[2], -0.25 * weights[3])):
        d = torch.tensor([[0.25 * weights[0], -0.5 * weights[1], dw, dh]], dtype=F64, requires_grad=True)
        boxes = coder.decode_single(d, anchor)
        (boxes * upstream).sum().backward()
        print("weights=%s %s: deltas %s" % (weights, name, ["%.17g" % v for v in d.detach().flatten().tolist()]))
        print("   boxes %s" % ["%.17g" % v for v in boxes.detach().flatten().tolist()])
        print("   grad  %s" % ["%.17g" % v for v in d.grad.flatten().tolist()])
