using System.Security.Cryptography;
using System.Text;

namespace Steer.Tun.Windows;

/// <summary>
/// The name, tunnel type, GUID and ring size of Steer's Wintun adapter. The GUID is fixed for a given name, so Windows keeps one
/// network profile (NLA entry) for Steer instead of creating a new "Network N" on every start.
/// </summary>
internal static class WintunAdapterSettings
{
    /// <summary>The adapter name used when the requested name is a Linux-style pattern such as <c>steer%d</c>.</summary>
    internal const string DefaultName = "Steer";

    /// <summary>The tunnel type shown for the adapter.</summary>
    internal const string TunnelType = "Steer";

    /// <summary>The ring capacity of a session: 4 MiB (a power of two between WINTUN_MIN and WINTUN_MAX_RING_CAPACITY).</summary>
    internal const uint RingCapacity = 0x400000;

    /// <summary>The fixed namespace the adapter GUIDs are derived in.</summary>
    private static readonly Guid s_namespace = new("5b1c5d0e-8f3a-4e0b-9c57-3e2f8d7a6b41");

    /// <summary>The fixed GUID of the default adapter, <c>Steer</c>.</summary>
    internal static Guid DefaultGuid { get; } = GuidFor(DefaultName);

    /// <summary>The adapter name for a requested interface name: <c>Steer</c> for a <c>%d</c> pattern, else the name.</summary>
    internal static string AdapterName(string requestedName)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestedName);
        return requestedName.Contains("%d", StringComparison.Ordinal) ? DefaultName : requestedName;
    }

    /// <summary>
    /// A name-based GUID (RFC 9562 version 8): the first 16 bytes of SHA-256(namespace ‖ lower-case UTF-8 name), with
    /// the version and variant bits set. The same name always gives the same GUID.
    /// </summary>
    internal static Guid GuidFor(string adapterName)
    {
        ArgumentException.ThrowIfNullOrEmpty(adapterName);
        string lower = adapterName.ToLowerInvariant();
        byte[] input = new byte[16 + Encoding.UTF8.GetByteCount(lower)];
        s_namespace.TryWriteBytes(input, bigEndian: true, out _);
        Encoding.UTF8.GetBytes(lower, input.AsSpan(16));
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
