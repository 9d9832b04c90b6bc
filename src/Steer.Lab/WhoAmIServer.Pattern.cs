using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Steer.Lab;

public sealed partial class WhoAmIServer
{
    /// <summary>The pattern repeats every 64 KiB.</summary>
    public const int PatternPeriod = 64 * 1024;

    private const int MaxCachedHashes = 64;

    private static readonly byte[] s_pattern = CreatePattern();
    private static readonly ConcurrentDictionary<long, string> s_hashCache = new();

    /// <summary>
    /// Writes the <c>/bytes</c> pattern from byte <paramref name="offset"/> on: byte <c>i</c> is
    /// <c>(byte)(((uint)(i % 65536) * 2654435761u) &gt;&gt; 24)</c>, a fixed pseudo-random sequence of period 64 KiB
    /// (so a shifted, repeated or dropped block shows up in a comparison).
    /// </summary>
    /// <param name="offset">Offset of <paramref name="destination"/>[0] in the body.</param>
    /// <param name="destination">Where to write.</param>
    public static void FillPattern(long offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        int start = (int)(offset % PatternPeriod);
        while (!destination.IsEmpty)
        {
            int count = Math.Min(PatternPeriod - start, destination.Length);
            s_pattern.AsSpan(start, count).CopyTo(destination);
            destination = destination[count..];
            start = 0;
        }
    }

    /// <summary>Computes the lowercase hex SHA-256 of the first <paramref name="length"/> bytes of the pattern.</summary>
    /// <param name="length">The body length, 0 to <see cref="MaxBytes"/>.</param>
    /// <param name="cancellationToken">Stops hashing (1 GiB takes about a second).</param>
    /// <returns>The hash, as in the <see cref="Sha256HeaderName"/> header.</returns>
    public static string ComputePatternSha256(long length, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxBytes);
        if (s_hashCache.TryGetValue(length, out string? cached))
        {
            return cached;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long done = 0; done < length; done += PatternPeriod)
        {
            cancellationToken.ThrowIfCancellationRequested();
            hash.AppendData(s_pattern, 0, (int)Math.Min(PatternPeriod, length - done));
        }

        string hex = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (s_hashCache.Count >= MaxCachedHashes)
        {
            s_hashCache.Clear();
        }

        s_hashCache[length] = hex;
        return hex;
    }

    private static byte[] CreatePattern()
    {
        byte[] pattern = new byte[PatternPeriod];
        for (int i = 0; i < pattern.Length; i++)
        {
            pattern[i] = (byte)(((uint)i * 2654435761u) >> 24);
        }

        return pattern;
    }
}
