namespace LossKit.Cli.Lab.Models;

/// <summary>Hidden-layer activation.</summary>
internal enum Activation
{
    Relu,
    Tanh,
}

/// <summary>
/// A small multi-layer perceptron: Dense → activation → … → Dense (linear output). Forward keeps the activations of the
/// last batch; Backward takes d loss / d output (from a LossKit loss) and accumulates every parameter's gradient.
/// </summary>
internal sealed class Mlp
{
    private readonly Dense[] _layers;
    private readonly Activation _activation;
    private double[][] _acts = [];
    private int _batch;

    /// <param name="sizes">Layer widths, input first, output last (e.g. [8, 16, 1]).</param>
    public Mlp(int[] sizes, Activation activation, Random rng, double outputInitScale = 1.0)
    {
        _activation = activation;
        _layers = new Dense[sizes.Length - 1];
        for (int i = 0; i < _layers.Length; i++)
        {
            _layers[i] = new Dense(sizes[i], sizes[i + 1], rng, i == _layers.Length - 1 ? outputInitScale : 1.0);
        }
    }

    public int Inputs => _layers[0].In;

    public int Outputs => _layers[^1].Out;

    public Dense OutputLayer => _layers[^1];

    public IEnumerable<Parameter> Parameters => _layers.SelectMany(l => new[] { l.W, l.B });

    /// <summary>Runs a batch and returns the output (batch × outputs; valid until the next call).</summary>
    public double[] Forward(ReadOnlySpan<double> x, int batch)
    {
        if (_batch != batch || _acts.Length == 0)
        {
            _batch = batch;
            _acts = new double[_layers.Length + 1][];
            _acts[0] = new double[batch * Inputs];
            for (int i = 0; i < _layers.Length; i++)
            {
                _acts[i + 1] = new double[batch * _layers[i].Out];
            }
        }

        x[..(batch * Inputs)].CopyTo(_acts[0]);
        for (int i = 0; i < _layers.Length; i++)
        {
            _layers[i].Forward(_acts[i], batch, _acts[i + 1]);
            if (i < _layers.Length - 1)
            {
                Activate(_acts[i + 1]);
            }
        }

        return _acts[^1];
    }

    /// <summary>Forward over many rows in chunks, in parallel (inference only; the model is not modified).</summary>
    public double[] Predict(double[] x, int rows)
    {
        var output = new double[rows * Outputs];
        const int chunk = 2048;
        int chunks = (rows + chunk - 1) / chunk;
        Parallel.For(0, chunks, c =>
        {
            int start = c * chunk, count = Math.Min(chunk, rows - start);
            double[] current = x.AsSpan(start * Inputs, count * Inputs).ToArray();
            for (int i = 0; i < _layers.Length; i++)
            {
                var next = new double[count * _layers[i].Out];
                _layers[i].Forward(current, count, next);
                if (i < _layers.Length - 1)
                {
                    Activate(next);
                }

                current = next;
            }

            current.CopyTo(output.AsSpan(start * Outputs));
        });
        return output;
    }

    /// <summary>Back-propagates d loss / d output of the last Forward batch; returns d loss / d input when asked (else empty).</summary>
    public double[] Backward(ReadOnlySpan<double> outputGradient, bool inputGradient = false)
    {
        double[] grad = outputGradient[..(_batch * Outputs)].ToArray();
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            double[] dx = i > 0 || inputGradient ? new double[_batch * _layers[i].In] : [];
            _layers[i].Backward(_acts[i], grad, _batch, dx);
            if (i > 0)
            {
                // Through the previous layer's activation, using its stored output.
                double[] a = _acts[i];
                for (int k = 0; k < dx.Length; k++)
                {
                    dx[k] *= _activation == Activation.Relu ? (a[k] > 0 ? 1 : 0) : 1 - a[k] * a[k];
                }
            }

            grad = dx;
        }

        return grad;
    }

    public void ZeroGrad()
    {
        foreach (Parameter p in Parameters)
        {
            Array.Clear(p.Grad);
        }
    }

    private void Activate(Span<double> v)
    {
        if (_activation == Activation.Relu)
        {
            for (int k = 0; k < v.Length; k++)
            {
                v[k] = Math.Max(0, v[k]);
            }
        }
        else
        {
            for (int k = 0; k < v.Length; k++)
            {
                v[k] = Math.Tanh(v[k]);
            }
        }
    }
}

/// <summary>SGD with (heavy-ball) momentum and optional weight decay: v ← μ·v + g + λ·w; w ← w − η·v.</summary>
internal sealed class Sgd(double learningRate, double momentum = 0.9, double weightDecay = 0.0)
{
    public double LearningRate { get; set; } = learningRate;

    public double Momentum { get; } = momentum;

    public double WeightDecay { get; } = weightDecay;

    public void Step(IEnumerable<Parameter> parameters)
    {
        foreach (Parameter p in parameters)
        {
            double decay = p.Decay ? WeightDecay : 0;
            double[] w = p.Value, g = p.Grad, v = p.Velocity;
            for (int i = 0; i < w.Length; i++)
            {
                v[i] = Momentum * v[i] + g[i] + decay * w[i];
                w[i] -= LearningRate * v[i];
            }
        }
    }
}
