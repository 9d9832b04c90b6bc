using System.Net;
using System.Net.Sockets;
using System.Buffers;

namespace Steer.Lab;

/// <summary>Options for <see cref="LabTopology.CreateAsync"/>: namespace prefix, addresses and timeouts.</summary>
/// <remarks>
/// Each lab has its own three namespaces (<c>&lt;prefix&gt;client</c>, <c>&lt;prefix&gt;gw</c>, <c>&lt;prefix&gt;inet</c>),
/// so two labs with different prefixes can run at the same time with the same addresses: addresses only need to be
/// unique inside one lab. Change them only to test other address plans.
/// </remarks>
public sealed class LabTopologyOptions
{
    private static readonly SearchValues<char> s_prefixCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    /// <summary>
    /// Prefix of the namespace names: 1–32 characters from <c>[A-Za-z0-9._-]</c>.
    /// </summary>
    /// <remarks>Defaults to <see cref="LabNames.DefaultPrefix"/> (<c>steer-</c>). Tests use a unique one, e.g. <c>steer-t1234-</c>.</remarks>
    public string Prefix { get; set; } = LabNames.DefaultPrefix;

    /// <summary>The client's address on the client link (interface <c>c0</c>).</summary>
    /// <remarks>Defaults to <see cref="LabNames.ClientAddress"/> (198.18.1.2).</remarks>
    public IPAddress ClientAddress { get; set; } = IPAddress.Parse(LabNames.ClientAddress);

    /// <summary>The gateway's address on the client link (interface <c>g0</c>).</summary>
    /// <remarks>Defaults to <see cref="LabNames.GatewayAddress"/> (198.18.1.1).</remarks>
    public IPAddress GatewayAddress { get; set; } = IPAddress.Parse(LabNames.GatewayAddress);

    /// <summary>Prefix length of the IPv4 client link.</summary>
    /// <remarks>Defaults to 24.</remarks>
    public int ClientLinkPrefixLength { get; set; } = LabNames.ClientLinkPrefixLength;

    /// <summary>The gateway's address on the internet link (interface <c>g1</c>).</summary>
    /// <remarks>Defaults to <see cref="LabNames.GatewayInetAddress"/> (198.18.2.1).</remarks>
    public IPAddress GatewayInetAddress { get; set; } = IPAddress.Parse(LabNames.GatewayInetAddress);

    /// <summary>The internet namespace's address (interface <c>i0</c>).</summary>
    /// <remarks>Defaults to <see cref="LabNames.InetAddress"/> (198.18.2.2).</remarks>
    public IPAddress InetAddress { get; set; } = IPAddress.Parse(LabNames.InetAddress);

    /// <summary>Prefix length of the IPv4 internet link.</summary>
    /// <remarks>Defaults to 24.</remarks>
    public int InetLinkPrefixLength { get; set; } = LabNames.InetLinkPrefixLength;

    /// <summary>Whether the links also get IPv6 addresses.</summary>
    /// <remarks>Defaults to <see langword="true"/>. Needs a kernel with IPv6.</remarks>
    public bool EnableIPv6 { get; set; } = true;

    /// <summary>The client's IPv6 address on the client link.</summary>
    /// <remarks>Defaults to <see cref="LabNames.ClientAddressV6"/> (fd53:7ee7:1::2).</remarks>
    public IPAddress ClientAddressV6 { get; set; } = IPAddress.Parse(LabNames.ClientAddressV6);

    /// <summary>The gateway's IPv6 address on the client link.</summary>
    /// <remarks>Defaults to <see cref="LabNames.GatewayAddressV6"/> (fd53:7ee7:1::1).</remarks>
    public IPAddress GatewayAddressV6 { get; set; } = IPAddress.Parse(LabNames.GatewayAddressV6);

    /// <summary>Prefix length of the IPv6 client link.</summary>
    /// <remarks>Defaults to 64.</remarks>
    public int ClientLinkPrefixLengthV6 { get; set; } = LabNames.ClientLinkPrefixLengthV6;

    /// <summary>The gateway's IPv6 address on the internet link.</summary>
    /// <remarks>Defaults to <see cref="LabNames.GatewayInetAddressV6"/> (fd53:7ee7:2::1).</remarks>
    public IPAddress GatewayInetAddressV6 { get; set; } = IPAddress.Parse(LabNames.GatewayInetAddressV6);

    /// <summary>The internet namespace's IPv6 address.</summary>
    /// <remarks>Defaults to <see cref="LabNames.InetAddressV6"/> (fd53:7ee7:2::2).</remarks>
    public IPAddress InetAddressV6 { get; set; } = IPAddress.Parse(LabNames.InetAddressV6);

    /// <summary>Prefix length of the IPv6 internet link.</summary>
    /// <remarks>Defaults to 64.</remarks>
    public int InetLinkPrefixLengthV6 { get; set; } = LabNames.InetLinkPrefixLengthV6;

    /// <summary>MTU of the veth links (68–65535), or <see langword="null"/> for the kernel's default (1500).</summary>
    /// <remarks>Defaults to <see langword="null"/>.</remarks>
    public int? Mtu { get; set; }

    /// <summary>
    /// Whether IPv4 and IPv6 forwarding is switched on in the gateway namespace (a gateway that NATs needs it).
    /// The client still cannot reach the internet namespace on its own: it has no route there.
    /// </summary>
    /// <remarks>Defaults to <see langword="true"/>.</remarks>
    public bool EnableGatewayForwarding { get; set; } = true;

    /// <summary>
    /// Whether the client also has a direct path to the internet namespace: a default route via the gateway
    /// namespace, which then routes (without NAT) like an ordinary router, and a route back in the internet namespace.
    /// Traffic Steer does not steer then still arrives, from the client's own address instead of the gateway's.
    /// </summary>
    /// <remarks>Defaults to <see langword="false"/> (the client reaches the internet namespace only through Steer).</remarks>
    public bool DirectPath { get; set; }

    /// <summary>How long each <c>ip</c>/<c>sysctl</c> command may take.</summary>
    /// <remarks>Defaults to 10 seconds.</remarks>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for the links to come up and the IPv6 addresses to leave the tentative state.</summary>
    /// <remarks>Defaults to 10 seconds.</remarks>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal LabTopologyOptions Clone() => (LabTopologyOptions)MemberwiseClone();

    internal void Validate(string argumentName)
    {
        ValidatePrefix(Prefix, argumentName);
        ValidateLink(ClientAddress, GatewayAddress, ClientLinkPrefixLength, AddressFamily.InterNetwork, "client", argumentName);
        ValidateLink(GatewayInetAddress, InetAddress, InetLinkPrefixLength, AddressFamily.InterNetwork, "internet", argumentName);
        if (EnableIPv6)
        {
            ValidateLink(ClientAddressV6, GatewayAddressV6, ClientLinkPrefixLengthV6, AddressFamily.InterNetworkV6, "client", argumentName);
            ValidateLink(GatewayInetAddressV6, InetAddressV6, InetLinkPrefixLengthV6, AddressFamily.InterNetworkV6, "internet", argumentName);
        }

        if (Mtu is < 68 or > 65535)
        {
            throw new ArgumentException($"{nameof(Mtu)} must be between 68 and 65535.", argumentName);
        }

        if (CommandTimeout <= TimeSpan.Zero || ReadyTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(CommandTimeout)} and {nameof(ReadyTimeout)} must be positive.", argumentName);
        }
    }

    internal static IPNetwork NetworkOf(IPAddress address, int prefixLength)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int bit = prefixLength; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPNetwork(new IPAddress(bytes), prefixLength);
    }

    internal static void ValidatePrefix(string prefix, string argumentName)
    {
        if (string.IsNullOrEmpty(prefix) || prefix.Length > 32 || prefix is "." or ".." ||
            prefix.AsSpan().ContainsAnyExcept(s_prefixCharacters))
        {
            throw new ArgumentException(
                $"The lab prefix '{prefix}' is invalid: use 1-32 characters from [A-Za-z0-9._-].", argumentName);
        }
    }

    private static void ValidateLink(
        IPAddress? first,
        IPAddress? second,
        int prefixLength,
        AddressFamily family,
        string link,
        string argumentName)
    {
        int maxPrefixLength = family == AddressFamily.InterNetwork ? 32 : 128;
        string familyName = family == AddressFamily.InterNetwork ? "IPv4" : "IPv6";
        if (first is null || second is null || first.AddressFamily != family || second.AddressFamily != family)
        {
            throw new ArgumentException($"The {familyName} addresses of the {link} link must be {familyName} addresses.", argumentName);
        }

        if (prefixLength < 1 || prefixLength >= maxPrefixLength)
        {
            throw new ArgumentException(
                $"The {familyName} prefix length of the {link} link must be between 1 and {maxPrefixLength - 1}.", argumentName);
        }

        if (first.Equals(second) || !NetworkOf(first, prefixLength).Contains(second))
        {
            throw new ArgumentException(
                $"The {familyName} addresses of the {link} link ({first}, {second}) must differ and share a /{prefixLength}.",
                argumentName);
        }
    }
}
