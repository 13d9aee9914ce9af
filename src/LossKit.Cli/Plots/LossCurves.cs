using System.Globalization;
using LossKit.Classification;
using LossKit.Cli.Svg;
using LossKit.Detection;
using LossKit.Registry;

namespace LossKit.Cli.Plots;

/// <summary>Loss and gradient curves computed with the library, as charts (for <c>losskit plot</c> and the lab).</summary>
internal static class LossCurves
{
    /// <summary>Evenly spaced values from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static double[] Grid(double from, double to, int count) =>
        [.. Enumerable.Range(0, count).Select(i => from + (to - from) * i / (count - 1))];

    /// <summary>Log-spaced values from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static double[] LogGrid(double from, double to, int count) =>
        [.. Enumerable.Range(0, count).Select(i => from * Math.Pow(to / from, (double)i / (count - 1)))];

    /// <summary>Per-element values and gradients of an element-wise loss (Reduction.None).</summary>
    public static (double[] Loss, double[] Gradient) Evaluate(ElementwiseLoss<double> loss, double[] input, double[] target)
    {
        var values = new double[input.Length];
        var gradient = new double[input.Length];
        loss.ForwardBackward(input, target, gradient, values);
        return (values, gradient);
    }

    public static string G(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>
    /// The focal-loss paper's Figure 1: FL(p_t) = −(1 − p_t)^γ·ln p_t for several γ (γ = 0 is cross-entropy), and the
    /// gradient w.r.t. the logit. α &lt; 0 means no α weighting (as the figure).
    /// </summary>
    public static Figure Focal(IReadOnlyList<double> gammas, double alpha = -1, bool logY = false)
    {
        double[] pt = Grid(0.001, 0.999, 400);
        double[] logits = [.. pt.Select(p => Math.Log(p / (1 - p)))];
        double[] ones = [.. pt.Select(_ => 1.0)];
        var loss = new Chart { Title = "Focal loss vs probability of the ground-truth class" };
        var grad = new Chart { Title = "Gradient w.r.t. the logit, −∂FL/∂x" };
        loss.X.Label = grad.X.Label = "p_t (probability of the ground-truth class)";
        loss.Y.Label = "loss";
        grad.Y.Label = "−∂loss/∂x";
        if (logY)
        {
            loss.Y.Scale = grad.Y.Scale = AxisScale.Log;
            loss.Y.Min = 1e-6;
            grad.Y.Min = 1e-6;
        }
        else
        {
            loss.Y.Min = 0;
            loss.Y.Max = 5;
            grad.Y.Min = 0;
        }

        loss.X.Min = grad.X.Min = 0;
        loss.X.Max = grad.X.Max = 1;
        foreach (double gamma in gammas)
        {
            (double[] l, double[] g) = Evaluate(new SigmoidFocalLoss<double>(Reduction.None, alpha, gamma), logits, ones);
            string name = gamma == 0 ? "γ = 0 (CE)" : $"γ = {G(gamma)}";
            loss.Series.Add(new Series(name, pt, l));
            grad.Series.Add(new Series(name, pt, [.. g.Select(v => -v)]));
        }

        loss.ReferenceLines.Add(new ReferenceLine(false, 0.6, "well-classified →"));
        string a = alpha < 0 ? "no α" : $"α = {G(alpha)}";
        return new Figure($"Sigmoid focal loss (positive example, {a}) — LossKit SigmoidFocalLoss", 2, loss, grad);
    }

    /// <summary>L1, L2, Smooth L1 and Huber (and optionally Balanced L1) against the error d = x − y.</summary>
    public static Figure Regression(double beta = 1, double delta = 1, IReadOnlyList<string>? losses = null, double range = 3)
    {
        losses ??= ["l1", "mse", "smooth_l1", "huber"];
        double[] d = Grid(-range, range, 601);
        double[] zeros = new double[d.Length];
        var loss = new Chart { Title = "Loss vs error" };
        var grad = new Chart { Title = "Gradient ∂loss/∂x vs error" };
        loss.X.Label = grad.X.Label = "error d = x − y";
        loss.Y.Label = "loss";
        grad.Y.Label = "∂loss/∂x";
        loss.Y.Min = 0;
        loss.Y.Max = Math.Min(range * range / 2 + 0.5, 5);
        foreach (string name in losses)
        {
            if (!LossRegistry.TryGet(name, out LossEntry? entry) || entry.Family != LossFamily.Regression)
            {
                throw new Commands.CliException(
                    $"unknown regression loss '{name}' (known: {string.Join(", ", LossRegistry.Entries.Where(e => e.Family == LossFamily.Regression).Select(e => e.Id))})");
            }

            LossArguments args = entry.Arguments().Set("reduction", Reduction.None);
            foreach ((string parameter, double value) in (ReadOnlySpan<(string, double)>)[("beta", beta), ("delta", delta)])
            {
                if (entry.Parameter(parameter) is not null)
                {
                    args.Set(parameter, value);
                }
            }

            string label = Label(entry, args);
            (double[] v, double[] g) = Evaluate((ElementwiseLoss<double>)entry.Create<double>(args), d, zeros);
            loss.Series.Add(new Series(label, d, v) { Dashed = name == "huber" });
            grad.Series.Add(new Series(label, d, g) { Dashed = name == "huber" });
        }

        return new Figure("Regression losses — LossKit L1Loss, MseLoss, SmoothL1Loss, HuberLoss", 2, loss, grad);
    }

    /// <summary>Margin-based classification losses against the margin y·f (labels ±1; logistic via BCE with logits).</summary>
    public static Figure Classification()
    {
        double[] m = Grid(-2.5, 2.5, 501);
        double[] ones = [.. m.Select(_ => 1.0)];
        var loss = new Chart { Title = "Loss vs margin y·f" };
        var grad = new Chart { Title = "Gradient ∂loss/∂f (y = +1)" };
        loss.X.Label = grad.X.Label = "margin y·f";
        loss.Y.Label = "loss";
        grad.Y.Label = "∂loss/∂f";
        loss.Y.Min = 0;
        loss.Y.Max = 5;
        grad.Y.Min = -5;
        grad.Y.Max = 0.5;
        (string, ElementwiseLoss<double>)[] losses =
        [
            ("hinge max(0, 1 − m)", new HingeLoss<double>(Reduction.None)),
            ("squared hinge", new SquaredHingeLoss<double>(Reduction.None)),
            ("exponential e^(−m)", new ExponentialLoss<double>(Reduction.None)),
            ("logistic (BCE with logits)", new BinaryCrossEntropyWithLogitsLoss<double>(Reduction.None)),
        ];
        foreach ((string name, ElementwiseLoss<double> l) in losses)
        {
            (double[] v, double[] g) = Evaluate(l, m, ones);
            loss.Series.Add(new Series(name, m, v));
            grad.Series.Add(new Series(name, m, g));
        }

        double[] zeroOne = [.. m.Select(v => v < 0 ? 1.0 : 0.0)];
        loss.Series.Add(new Series("0–1 loss", m, zeroOne) { Color = "#888888", Dashed = true });
        return new Figure("Margin losses — LossKit HingeLoss, SquaredHingeLoss, ExponentialLoss, BinaryCrossEntropyWithLogitsLoss", 2, loss, grad);
    }

    /// <summary>
    /// The IoU family against the horizontal centre offset of a unit box from a unit target, and against the aspect ratio
    /// of an area-1 box centred on a unit-square target: loss and gradient (cxcywh).
    /// </summary>
    public static Figure Iou(IReadOnlyList<string>? losses = null)
    {
        losses ??= ["iou", "giou", "diou", "ciou", "eiou", "siou"];
        double[] offsets = Grid(-3, 3, 601);
        double[] ratios = LogGrid(1.0 / 8, 8, 401);
        var lossOffset = new Chart { Title = "Loss vs horizontal centre offset" };
        var gradOffset = new Chart { Title = "∂loss/∂x vs horizontal centre offset" };
        var lossRatio = new Chart { Title = "Loss vs aspect ratio (area 1, same centre)" };
        var gradRatio = new Chart { Title = "∂loss/∂w vs aspect ratio" };
        lossOffset.X.Label = gradOffset.X.Label = "centre offset Δx (unit boxes)";
        lossRatio.X.Label = gradRatio.X.Label = "predicted w/h (target 1:1)";
        lossRatio.X.Scale = gradRatio.X.Scale = AxisScale.Log;
        (double, string)[] ratioTicks = [(0.125, "1/8"), (0.25, "1/4"), (0.5, "1/2"), (1, "1"), (2, "2"), (4, "4"), (8, "8")];
        lossRatio.X.Ticks = gradRatio.X.Ticks = ratioTicks;
        lossOffset.Y.Label = lossRatio.Y.Label = "loss";
        gradOffset.Y.Label = "∂loss/∂x";
        gradRatio.Y.Label = "∂loss/∂w";
        lossOffset.Y.Min = lossRatio.Y.Min = 0;
        foreach (string name in losses)
        {
            var loss = Simulation.DiouSimulation.CreateLoss<double>(name);
            string label = Simulation.DiouSimulation.Names[name];
            string color = Simulation.DiouSimulation.LossColor(name);

            double[] predicted = [.. offsets.SelectMany(dx => new[] { dx, 0.0, 1.0, 1.0 })];
            double[] target = [.. offsets.SelectMany(_ => new[] { 0.0, 0.0, 1.0, 1.0 })];
            (double[] v, double[] g) = Box(loss, predicted, target);
            lossOffset.Series.Add(new Series(label, offsets, v) { Color = color });
            gradOffset.Series.Add(new Series(label, offsets, [.. Enumerable.Range(0, offsets.Length).Select(i => g[4 * i])]) { Color = color });

            predicted = [.. ratios.SelectMany(r => new[] { 0.0, 0.0, Math.Sqrt(r), 1 / Math.Sqrt(r) })];
            target = [.. ratios.SelectMany(_ => new[] { 0.0, 0.0, 1.0, 1.0 })];
            (v, g) = Box(loss, predicted, target);
            lossRatio.Series.Add(new Series(label, ratios, v) { Color = color });
            gradRatio.Series.Add(new Series(label, ratios, [.. Enumerable.Range(0, ratios.Length).Select(i => g[4 * i + 2])]) { Color = color });
        }

        return new Figure("IoU-family losses (cxcywh, torchvision conventions; SIoU as mmdetection) — LossKit Detection", 2, lossOffset, gradOffset, lossRatio, gradRatio);
    }

    /// <summary>A series label: the entry's id and its hyper-parameters other than the reduction, e.g. <c>smooth_l1 (beta = 0.5)</c>.</summary>
    private static string Label(LossEntry entry, LossArguments args)
    {
        var shown = entry.Parameters.Where(p => p.Role == ParameterRole.Construction && p.Type is ParameterType.Double or ParameterType.Int)
            .Select(p => $"{p.Name} = {G(args.Double(p.Name))}").ToList();
        return shown.Count == 0 ? entry.Id : $"{entry.Id} ({string.Join(", ", shown)})";
    }

    private static (double[] Values, double[] Gradient) Box(BoxRegressionLoss<double> loss, double[] predicted, double[] target)
    {
        var values = new double[predicted.Length / 4];
        var gradient = new double[predicted.Length];
        loss.ForwardBackward(predicted, target, gradient, values);
        return (values, gradient);
    }
}
