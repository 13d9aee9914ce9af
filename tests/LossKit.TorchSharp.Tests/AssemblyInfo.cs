using Xunit;

// TorchSharp's random generator, thread count and grad mode are process-wide: a test that seeds the generator and then
// builds a model must not interleave with another test drawing random tensors.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
