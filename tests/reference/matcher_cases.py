#!/usr/bin/python3
"""Expected values for tests/LossKit.Tests/Criteria/MatcherReferenceTests.cs, from torchvision 0.14.

    /usr/bin/python3 tests/reference/matcher_cases.py

Prints each case's IoU matrix (torchvision.ops.box_iou(gt, predicted)) and the matches of
torchvision.models.detection._utils.Matcher for the presets used there; the test file pastes them.
"""
import torch
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.ops import box_iou

PRESETS = [("rpn", 0.7, 0.3, True), ("roi", 0.5, 0.5, False), ("retinanet", 0.5, 0.4, True)]


def show(name, gt, pred, dtype):
    gt = torch.tensor(gt, dtype=dtype).reshape(-1, 4)
    pred = torch.tensor(pred, dtype=dtype).reshape(-1, 4)
    iou = box_iou(gt, pred)
    print("%s %s iou:" % (name, dtype), [["%.17g" % v for v in row] for row in iou.tolist()])
    for pname, high, low, allow in PRESETS:
        m = det_utils.Matcher(high, low, allow_low_quality_matches=allow)(iou.clone())
        print("  %s matches: %s" % (pname, m.tolist()))


def show_quality(name, rows, dtype):
    q = torch.tensor(rows, dtype=dtype)
    for pname, high, low, allow in PRESETS:
        m = det_utils.Matcher(high, low, allow_low_quality_matches=allow)(q.clone())
        print("%s %s %s matches: %s" % (name, dtype, pname, m.tolist()))


print("torch", torch.__version__, "torchvision", torchvision.__version__)

# Two ground truths, six predictions: an exact box, a half box, a tie between predictions 3 and 5 for
# gt 1 (IoU 0.25 each) where prediction 5 overlaps gt 0 more, and a box far from both.
gt = [0, 0, 10, 10,
      20, 20, 30, 30]
pred = [0, 0, 10, 10,      # IoU 1 with gt 0
        0, 0, 10, 5,       # 0.5 with gt 0
        100, 100, 110, 110,  # 0 with both
        20, 20, 25, 25,    # 0.25 with gt 1
        5, 0, 15, 10,      # 1/3 with gt 0
        8, 8, 28, 28]      # gt0: 4/(100+400-4); gt1: 64/(100+400-64)
show("boxes", gt, pred, torch.float64)
show("boxes", gt, pred, torch.float32)

# Row 0's maximum (0.75) is also row 1's first element: a restore loop reading one column past a block sees it.
show_quality("next_row_tie", [[0.5, 0.75, 0.125], [0.75, 0.25, 0.375]], torch.float64)

# Float32 quality exactly on float32(0.7) and float32(0.3): a match and the ignore band (compared in float32).
show_quality("float_thresholds", [[0.7, 0.3, 0.29999998]], torch.float32)
