using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Steer.Tun;

/// <summary>An address assigned to an interface together with its prefix length (for example <c>100.64.0.2/24</c>).</summary>
/// <param name="Address">The interface's own address (host bits may be set).</param>
/// <param name="PrefixLength">Length of the on-link prefix.</param>
public readonly record struct InterfaceAddress(IPAddress Address, int PrefixLength)
{
    /// <summary>The on-link network this address belongs to.</summary>
    public IPNetwork Network => new(Mask(Address, PrefixLength), PrefixLength);

    /// <summary>Parses <c>address/prefix</c>; a missing prefix means a host address (/32 or /128).</summary>
    /// <exception cref="FormatException">The text is not an address with an optional valid prefix.</exception>
    public static InterfaceAddress Parse(string text)
    {
        if (!TryParse(text, out InterfaceAddress result))
        {
            throw new FormatException($"'{text}' is not an interface address such as 100.64.0.2/24 or fd00::2/64.");
        }

        return result;
    }

    /// <summary>Tries to parse <c>address/prefix</c>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out InterfaceAddress result)
    {
        result = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out IPAddress? address))
        {
            return false;
        }

        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int prefix = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > max))
        {
            return false;
        }

        result = new InterfaceAddress(address, prefix);
        return true;
    }

    /// <summary>Returns <paramref name="address"/> with the host bits beyond <paramref name="prefixLength"/> cleared.</summary>
    public static IPAddress Mask(IPAddress address, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int length);
        bytes = bytes[..length];
        for (int i = 0; i < length; i++)
        {
            int bitsHere = Math.Clamp(prefixLength - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - bitsHere));
        }

        return new IPAddress(bytes);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Address}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";
}
