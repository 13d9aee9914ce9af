using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace LossKit.Tests.Fuzz;

/// <summary>
/// The fuzz suite's seed and budget. The seed is fixed so CI replays the same cases on every run; set
/// <c>LOSSKIT_FUZZ_SEED</c> to explore other streams (a failure prints the seed to replay it with). Each property
/// derives its own stream from the seed and its name, so adding a property does not shift the cases of the others.
/// </summary>
internal static class FuzzConfig
{
    /// <summary>The default seed (any constant; this one is the date the suite was written).</summary>
    public const ulong DefaultSeed = 20261207;

    /// <summary>The seed in force: <c>LOSSKIT_FUZZ_SEED</c> when set (decimal), else <see cref="DefaultSeed"/>.</summary>
    public static ulong Seed { get; } =
        ulong.TryParse(Environment.GetEnvironmentVariable("LOSSKIT_FUZZ_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out ulong s) ? s : DefaultSeed;

    /// <summary>
    /// Runs <paramref name="property"/> on <paramref name="tests"/> cases of <paramref name="generator"/> with the stream of
    /// <paramref name="name"/>; a failing case throws with the case, its exception and the seed to replay.
    /// </summary>
    public static void Check<TCase>(string name, Gen<TCase> generator, int tests, Action<TCase> property)
    {
        ulong seed = Mix(Seed, name);
        Config config = Config.QuickThrowOnFailure
            .WithMaxTest(tests)
            .WithStartSize(0)
            .WithEndSize(100)
            .WithQuietOnSuccess(true)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None)));
        try
        {
            Prop.ForAll(Arb.From(generator), property).Check(config);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new Xunit.Sdk.XunitException($"fuzz property '{name}' failed (LOSSKIT_FUZZ_SEED={Seed}):\n{e.Message}");
        }
    }

    /// <summary>A stable 64-bit mix of the seed and a name (FNV-1a; string.GetHashCode is randomised per process).</summary>
    private static ulong Mix(ulong seed, string name)
    {
        ulong h = 14695981039346656037UL ^ seed;
        foreach (char c in name)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return h;
    }
}
