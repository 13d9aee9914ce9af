#!/usr/bin/python3
# Which (loss, dtype, input, target) cases of ExtremeInputTests give a non-finite value (V) or gradient (G) in PyTorch.
import math, torch, torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss
def mmdet_balanced_l1(x, t, beta=1.0, alpha=0.5, gamma=1.5):
    # mmdet.models.losses.balanced_l1_loss (reduction none)
    diff = torch.abs(x - t); b = math.e ** (gamma / alpha) - 1
    return torch.where(diff < beta, alpha / b * (b * diff + 1) * torch.log(b * diff / beta + 1) - alpha * diff,
                       gamma * diff + gamma / b - alpha * beta)
def mmdet_varifocal(x, t, alpha=0.75, gamma=2.0):
    # mmdet.models.losses.varifocal_loss (iou_weighted=True, reduction none)
    p = x.sigmoid()
    fw = t * (t > 0.0).float() + alpha * (p - t).abs().pow(gamma) * (t <= 0.0).float()
    return F.binary_cross_entropy_with_logits(x, t, reduction='none') * fw
E = {
 'mse': lambda x, t: F.mse_loss(x, t, reduction='none'),
 'squared_hinge': lambda x, t: torch.clamp(1 - t * x, min=0) ** 2,
 'exponential': lambda x, t: torch.exp(-t * x),
 'balanced_l1': mmdet_balanced_l1,
 'varifocal': mmdet_varifocal,
 'sigmoid_focal': lambda x, t: sigmoid_focal_loss(x, t, alpha=0.25, gamma=2, reduction='none'),
 'bce_with_logits': lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction='none'),
 'hinge': lambda x, t: torch.clamp(1 - t * x, min=0),
 'l1': lambda x, t: F.l1_loss(x, t, reduction='none'),
 'smooth_l1': lambda x, t: F.smooth_l1_loss(x, t, reduction='none'),
 'huber': lambda x, t: F.huber_loss(x, t, reduction='none'),
 'hinge_embedding': lambda x, t: F.hinge_embedding_loss(x, t, reduction='none'),
 'kl_div': lambda x, t: F.kl_div(x, t, reduction='none'),
}
prob = {'bce_with_logits', 'sigmoid_focal', 'varifocal', 'kl_div'}
for dt, mx, tiny, name in [(torch.float32, 3.4028234663852886e38, 1.401298464324817e-45, 'Single'), (torch.float64, 1.7976931348623157e308, 5e-324, 'Double')]:
    for loss, f in E.items():
        targets = [0.0, 1.0, 0.5] if loss in prob else [0.0, 1.0, -1.0, 0.5]
        for v in [mx, -mx, mx / 2, -mx / 2, 1e30, -1e30, tiny, -tiny, 0.0]:
            for t in targets:
                if loss == 'hinge_embedding' and t not in (1.0, -1.0): continue
                if loss in ('squared_hinge','exponential','hinge') and t not in (1.0, -1.0): continue
                x = torch.tensor([v], dtype=dt, requires_grad=True)
                l = f(x, torch.tensor([t], dtype=dt)); l.sum().backward()
                val, g = l.item(), x.grad.item()
                flags = ('V' if not math.isfinite(val) else '') + ('G' if not math.isfinite(g) else '')
                if flags:
                    xr = repr(float(torch.tensor(v, dtype=dt).item()))
                    print(f'{loss}|{name}|{xr}|{t!r}  {flags}  value {val!r} grad {g!r}')
# multi_margin: F.multi_margin_loss(row [v, 0, 1], target 0 or 2)
for dt, mx, name in [(torch.float32, 3.4028234663852886e38, 'Single'), (torch.float64, 1.7976931348623157e308, 'Double')]:
    for v in [mx, -mx, mx / 2, -mx / 2, 1e30, -1e30]:
        for y in [0, 2]:
            for lname, fn in [('multi_margin', lambda x, y: F.multi_margin_loss(x, y, reduction='none')), ('cross_entropy', lambda x, y: F.cross_entropy(x, y, reduction='none')), ('nll', lambda x, y: F.nll_loss(x, y, reduction='none'))]:
                x = torch.tensor([[v, 0.0, 1.0]], dtype=dt, requires_grad=True)
                l = fn(x, torch.tensor([y])); l.sum().backward()
                val = l.item(); gfin = all(math.isfinite(a) for a in x.grad.flatten().tolist())
                flags = ('V' if not math.isfinite(val) else '') + ('' if gfin else 'G')
                if flags: print(f'{lname}|{name}|{float(torch.tensor(v,dtype=dt).item())!r}|{y}  {flags}  value {val!r} grad {x.grad.tolist()}')

# Quality focal: mmdet.models.losses.gfocal_loss.quality_focal_loss (beta=2) written out, row [v, 0, 1], 3 classes,
# label 0, 2 or 3 (background), score 0, 0.5 or 1.
def mmdet_qfl(pred, label, score, beta=2.0):
    pred_sigmoid = pred.sigmoid()
    loss = F.binary_cross_entropy_with_logits(pred, torch.zeros_like(pred), reduction='none') * pred_sigmoid.pow(beta)
    pos = ((label >= 0) & (label < pred.size(1))).nonzero().squeeze(1)
    pos_label = label[pos].long()
    sf = score[pos] - pred_sigmoid[pos, pos_label]
    loss[pos, pos_label] = F.binary_cross_entropy_with_logits(pred[pos, pos_label], score[pos], reduction='none') * sf.abs().pow(beta)
    return loss.sum(dim=1)
for dt, mx, name in [(torch.float32, 3.4028234663852886e38, 'Single'), (torch.float64, 1.7976931348623157e308, 'Double')]:
    for v in [mx, -mx, mx / 2, -mx / 2, 1e30, -1e30, 0.0]:
        for y in [0, 2, 3]:
            for s in [0.0, 0.5, 1.0]:
                x = torch.tensor([[v, 0.0, 1.0]], dtype=dt, requires_grad=True)
                l = mmdet_qfl(x, torch.tensor([y]), torch.tensor([s], dtype=dt)); l.sum().backward()
                val = l.item(); gfin = all(math.isfinite(a) for a in x.grad.flatten().tolist())
                flags = ('V' if not math.isfinite(val) else '') + ('' if gfin else 'G')
                if flags: print(f'quality_focal|{name}|{float(torch.tensor(v,dtype=dt).item())!r}|{y}|{s}  {flags}  value {val!r} grad {x.grad.tolist()}')
