namespace LossKit.Cli.Lab.Models;

/// <summary>A trainable array with its gradient and the optimizer's velocity.</summary>
internal sealed class Parameter(int length, bool decay)
{
    public double[] Value { get; } = new double[length];

    public double[] Grad { get; } = new double[length];

    public double[] Velocity { get; } = new double[length];

    /// <summary>Whether weight decay applies (weights yes, biases no).</summary>
    public bool Decay { get; } = decay;
}

/// <summary>A fully connected layer y = x·W + b on row-major batches (W is in × out).</summary>
internal sealed class Dense
{
    public Dense(int inputs, int outputs, Random rng, double initScale = 1.0)
    {
        In = inputs;
        Out = outputs;
        W = new Parameter(inputs * outputs, decay: true);
        B = new Parameter(outputs, decay: false);

        // He initialisation (ReLU layers); initScale shrinks it for output layers.
        double std = initScale * Math.Sqrt(2.0 / inputs);
        for (int i = 0; i < W.Value.Length; i++)
        {
            W.Value[i] = std * Rng.Gaussian(rng);
        }
    }

    public int In { get; }

    public int Out { get; }

    public Parameter W { get; }

    public Parameter B { get; }

    /// <summary>y[batch × out] = x[batch × in]·W + b.</summary>
    public void Forward(ReadOnlySpan<double> x, int batch, Span<double> y)
    {
        ReadOnlySpan<double> w = W.Value, b = B.Value;
        for (int r = 0; r < batch; r++)
        {
            Span<double> yr = y.Slice(r * Out, Out);
            b.CopyTo(yr);
            ReadOnlySpan<double> xr = x.Slice(r * In, In);
            for (int i = 0; i < In; i++)
            {
                double xi = xr[i];
                if (xi == 0)
                {
                    continue;
                }

                Kernels.Axpy(xi, w.Slice(i * Out, Out), yr);
            }
        }
    }

    /// <summary>Accumulates dW = xᵀ·dy and db = Σ dy; writes dx = dy·Wᵀ when <paramref name="dx"/> is not empty.</summary>
    public void Backward(ReadOnlySpan<double> x, ReadOnlySpan<double> dy, int batch, Span<double> dx)
    {
        Span<double> gw = W.Grad, gb = B.Grad;
        ReadOnlySpan<double> w = W.Value;
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<double> dyr = dy.Slice(r * Out, Out);
            ReadOnlySpan<double> xr = x.Slice(r * In, In);
            for (int o = 0; o < Out; o++)
            {
                gb[o] += dyr[o];
            }

            for (int i = 0; i < In; i++)
            {
                Kernels.Axpy(xr[i], dyr, gw.Slice(i * Out, Out));
                if (!dx.IsEmpty)
                {
                    dx[r * In + i] = Kernels.Dot(dyr, w.Slice(i * Out, Out));
                }
            }
        }
    }
}

/// <summary>The two inner loops of the dense layers, with <see cref="System.Numerics.Vector{T}"/> lanes and a scalar tail.</summary>
internal static class Kernels
{
    /// <summary>y += a·x.</summary>
    public static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && x.Length >= System.Numerics.Vector<double>.Count)
        {
            var va = new System.Numerics.Vector<double>(a);
            for (; i <= x.Length - System.Numerics.Vector<double>.Count; i += System.Numerics.Vector<double>.Count)
            {
                var vy = new System.Numerics.Vector<double>(y[i..]) + va * new System.Numerics.Vector<double>(x[i..]);
                vy.CopyTo(y[i..]);
            }
        }

        for (; i < x.Length; i++)
        {
            y[i] += a * x[i];
        }
    }

    /// <summary>Σ x·y.</summary>
    public static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        int i = 0;
        double sum = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && x.Length >= System.Numerics.Vector<double>.Count)
        {
            var acc = System.Numerics.Vector<double>.Zero;
            for (; i <= x.Length - System.Numerics.Vector<double>.Count; i += System.Numerics.Vector<double>.Count)
            {
                acc += new System.Numerics.Vector<double>(x[i..]) * new System.Numerics.Vector<double>(y[i..]);
            }

            sum = System.Numerics.Vector.Sum(acc);
        }

        for (; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }
}

/// <summary>Random helpers (seeded <see cref="Random"/> only, so runs repeat exactly).</summary>
internal static class Rng
{
    /// <summary>A standard normal sample (Box–Muller).</summary>
    public static double Gaussian(Random rng)
    {
        double u = 1.0 - rng.NextDouble(), v = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }

    public static void Shuffle(Random rng, int[] order)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }
}
