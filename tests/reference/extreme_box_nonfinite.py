#!/usr/bin/python3
# Which predicted boxes of ExtremeInputTests.BoxLosses_NonFiniteOnlyWhereTorchvisionIs give non-finite torchvision values or gradients.
import math, torch
from torchvision.ops import generalized_box_iou_loss, distance_box_iou_loss, complete_box_iou_loss
fs = {'giou': generalized_box_iou_loss, 'diou': distance_box_iou_loss, 'ciou': complete_box_iou_loss}
for dt, mx, tiny, name in [(torch.float32, 3.4028234663852886e38, 1.401298464324817e-45, 'Single'), (torch.float64, 1.7976931348623157e308, 5e-324, 'Double')]:
    for v in [mx, -mx, mx/2, -mx/2, 1e30, -1e30, tiny, -tiny]:
        for cname, b in [('far', [v, v, v + 1, v + 1]), ('span', [-abs(v), -abs(v), abs(v), abs(v)]), ('corner', [0, 0, abs(v), abs(v)])]:
            for lname, f in fs.items():
                p = torch.tensor([b], dtype=dt, requires_grad=True)
                l = f(p, torch.tensor([[0., 0., 1., 1.]], dtype=dt), reduction='none', eps=1e-7)
                l.sum().backward()
                val = l.item(); g = p.grad.flatten().tolist()
                print(f"{lname}|{name}|{cname}|{v!r}: value {val!r} grad {g}")
