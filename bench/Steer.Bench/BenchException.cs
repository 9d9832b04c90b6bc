namespace Steer.Bench;

/// <summary>A measurement could not be taken (a tool failed or printed something unexpected).</summary>
internal sealed class BenchException(string message, Exception? inner = null) : Exception(message, inner);
