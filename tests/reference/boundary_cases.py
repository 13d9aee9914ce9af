#!/usr/bin/python3
"""Expected values for tests/LossKit.Tests/Detection/FocalAlphaZeroTests.cs and
tests/LossKit.Tests/Regression/BalancedL1BoundaryTests.cs (PyTorch 1.13 / torchvision 0.14, float64, autograd).

    /usr/bin/python3 tests/reference/boundary_cases.py
"""
import math
import torch
from torchvision.ops import sigmoid_focal_loss

F64 = torch.float64

# Sigmoid focal loss with alpha = 0: alpha_t = 1 - t, so hard positives cost nothing.
for gamma in (2.0, 1.5):
    for x, t in ((0.5, 1.0), (-1.25, 0.0), (2.0, 0.25), (-0.75, 1.0), (3.5, 0.0)):
        xt = torch.tensor([x], dtype=F64, requires_grad=True)
        loss = sigmoid_focal_loss(xt, torch.tensor([t], dtype=F64), alpha=0.0, gamma=gamma, reduction="sum")
        loss.backward()
        print("focal gamma=%g x=%g t=%g: value %.17g grad %.17g" % (gamma, x, t, loss.item(), xt.grad.item()))


# Balanced L1 (mmdetection's balanced_l1_loss transcribed, as tests/reference/generate.py) exactly on |d| = beta.
def balanced_l1(pred, target, alpha, gamma, beta):
    d = (pred - target).abs()
    b = math.exp(gamma / alpha) - 1.0
    inside = (alpha / b) * (b * d + 1) * torch.log(b * d / beta + 1) - alpha * d
    outside = gamma * d + gamma / b - alpha * beta
    return torch.where(d < beta, inside, outside)


for alpha, gamma, beta in ((0.5, 1.5, 0.5), (0.5, 1.5, 2.0), (0.3, 1.2, 0.5)):
    for x, y in ((1.0 + beta, 1.0), (-3.0 - beta, -3.0), (1.0 + beta * 0.75, 1.0)):
        xt = torch.tensor([x], dtype=F64, requires_grad=True)
        loss = balanced_l1(xt, torch.tensor([y], dtype=F64), alpha, gamma, beta).sum()
        loss.backward()
        print("balanced_l1 alpha=%g gamma=%g beta=%g x=%g y=%g: value %.17g grad %.17g"
              % (alpha, gamma, beta, x, y, loss.item(), xt.grad.item()))

# Sigmoid focal with gamma = 0 where p saturates to exactly t (q = 1 - p_t = 0): pow's backward for exponent 0 is 0,
# so the gradient is BCE-with-logits' sigma(x) - t, finite (a q^(gamma - 1) = q^-1 term would make it 0 * inf = NaN).
for dtype, xs in ((torch.float64, (40.0, -40.0, 0.5)), (torch.float32, (20.0, -20.0, 0.5))):
    for x in xs:
        for t in (1.0, 0.0):
            xt = torch.tensor([x], dtype=dtype, requires_grad=True)
            loss = sigmoid_focal_loss(xt, torch.tensor([t], dtype=dtype), alpha=-1.0, gamma=0.0, reduction="sum")
            loss.backward()
            print("focal gamma=0 alpha=-1 %s x=%g t=%g: value %.17g grad %.17g"
                  % (dtype, x, t, loss.item(), xt.grad.item()))

# Sigmoid focal with integer gamma > 3 on soft targets outside [0, 1] (not range-checked, as torchvision): q = 1 - p_t
# is negative, and torch.pow with an integer-valued exponent is defined there; gamma = 3.5 (not an integer) on
# ordinary targets; alpha = 1 (alpha_t = t: negatives cost nothing).
for gamma, alpha, cases in ((4.0, 0.25, ((6.0, 2.0), (2.0, 1.5), (-3.0, -1.0))),
                            (5.0, 0.25, ((6.0, 2.0), (2.0, 1.5), (-3.0, -1.0))),
                            (64.0, -1.0, ((6.0, 2.0), (-6.0, -1.0))),
                            (3.5, 0.25, ((0.5, 1.0), (-1.5, 0.0), (2.0, 0.3))),
                            (2.0, 1.0, ((0.5, 1.0), (-1.5, 0.0), (2.0, 0.3)))):
    for x, t in cases:
        xt = torch.tensor([x], dtype=F64, requires_grad=True)
        loss = sigmoid_focal_loss(xt, torch.tensor([t], dtype=F64), alpha=alpha, gamma=gamma, reduction="sum")
        loss.backward()
        print("focal gamma=%g alpha=%g x=%g t=%g: (%.17g, %.17g)" % (gamma, alpha, x, t, loss.item(), xt.grad.item()))
