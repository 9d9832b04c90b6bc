namespace Steer.Lab;

/// <summary>
/// Well-known names, addresses and ports of the lab. The addresses come from 198.18.0.0/15 (RFC 2544, benchmarking)
/// and the ULA fd53:7ee7::/32, so they never collide with a real network.
/// </summary>
/// <remarks>
/// Every lab lives in its own network namespaces, so two labs with different prefixes can use the same addresses at
/// the same time: an address is only meaningful inside the namespaces of one lab.
/// </remarks>
public static class LabNames
{
    /// <summary>Prefix of the namespace names of the lab that <c>steer lab up</c> creates: <c>steer-</c>.</summary>
    public const string DefaultPrefix = "steer-";

    /// <summary>Suffix of the client namespace: <c>&lt;prefix&gt;client</c>.</summary>
    public const string ClientSuffix = "client";

    /// <summary>Suffix of the gateway namespace: <c>&lt;prefix&gt;gw</c>.</summary>
    public const string GatewaySuffix = "gw";

    /// <summary>Suffix of the internet namespace: <c>&lt;prefix&gt;inet</c>.</summary>
    public const string InetSuffix = "inet";

    /// <summary>The client's interface (in the client namespace), facing the gateway.</summary>
    public const string ClientInterface = "c0";

    /// <summary>The gateway's interface facing the client (in the gateway namespace).</summary>
    public const string GatewayClientInterface = "g0";

    /// <summary>The gateway's interface facing the internet namespace (in the gateway namespace).</summary>
    public const string GatewayInetInterface = "g1";

    /// <summary>The internet namespace's interface, facing the gateway.</summary>
    public const string InetInterface = "i0";

    /// <summary>The client's address on the client link: <c>198.18.1.2</c>.</summary>
    public const string ClientAddress = "198.18.1.2";

    /// <summary>The gateway's address on the client link: <c>198.18.1.1</c>.</summary>
    public const string GatewayAddress = "198.18.1.1";

    /// <summary>Prefix length of the client link (IPv4): 24.</summary>
    public const int ClientLinkPrefixLength = 24;

    /// <summary>The gateway's address on the internet link: <c>198.18.2.1</c>.</summary>
    public const string GatewayInetAddress = "198.18.2.1";

    /// <summary>The internet namespace's address: <c>198.18.2.2</c>.</summary>
    public const string InetAddress = "198.18.2.2";

    /// <summary>Prefix length of the internet link (IPv4): 24.</summary>
    public const int InetLinkPrefixLength = 24;

    /// <summary>The client's IPv6 address on the client link: <c>fd53:7ee7:1::2</c>.</summary>
    public const string ClientAddressV6 = "fd53:7ee7:1::2";

    /// <summary>The gateway's IPv6 address on the client link: <c>fd53:7ee7:1::1</c>.</summary>
    public const string GatewayAddressV6 = "fd53:7ee7:1::1";

    /// <summary>Prefix length of the client link (IPv6): 64.</summary>
    public const int ClientLinkPrefixLengthV6 = 64;

    /// <summary>The gateway's IPv6 address on the internet link: <c>fd53:7ee7:2::1</c>.</summary>
    public const string GatewayInetAddressV6 = "fd53:7ee7:2::1";

    /// <summary>The internet namespace's IPv6 address: <c>fd53:7ee7:2::2</c>.</summary>
    public const string InetAddressV6 = "fd53:7ee7:2::2";

    /// <summary>Prefix length of the internet link (IPv6): 64.</summary>
    public const int InetLinkPrefixLengthV6 = 64;

    /// <summary>Port of the lab's HTTP server (<see cref="WhoAmIServer"/>) in the internet namespace: 80.</summary>
    public const int HttpPort = 80;

    /// <summary>Port of iperf3 in the internet namespace: 5201 (iperf3's default).</summary>
    public const int Iperf3Port = 5201;

    /// <summary>The environment variable that overrides how <see cref="SteerExecutable"/> runs steer.</summary>
    public const string SteerExeVariable = "STEER_EXE";

    /// <summary>A name the steering tests include by exact name (resolves to <see cref="TunnelNameAddress"/>).</summary>
    public const string TunnelName = "tunnel.lab.test";

    /// <summary>Address of <see cref="TunnelName"/> in the internet namespace.</summary>
    public const string TunnelNameAddress = "198.18.2.10";

    /// <summary>A name the steering tests exclude (resolves to <see cref="DirectNameAddress"/>).</summary>
    public const string DirectName = "direct.lab.test";

    /// <summary>Address of <see cref="DirectName"/> in the internet namespace.</summary>
    public const string DirectNameAddress = "198.18.2.11";

    /// <summary>Every name under this domain resolves to <see cref="WildcardAddress"/> (for <c>*.wild.lab.test</c> rules).</summary>
    public const string WildcardDomain = "wild.lab.test";

    /// <summary>Address of the names under <see cref="WildcardDomain"/>.</summary>
    public const string WildcardAddress = "198.18.2.12";

    /// <summary>A name no steering rule of the tests mentions (resolves to <see cref="OtherNameAddress"/>).</summary>
    public const string OtherName = "other.lab.test";

    /// <summary>Address of <see cref="OtherName"/>.</summary>
    public const string OtherNameAddress = "198.18.2.13";

    /// <summary>
    /// TTL of the lab DNS server's answers, in seconds: short, so that a test can watch a learned route outlive its TTL
    /// while a connection uses it, and go once the connection has ended.
    /// </summary>
    public const int DnsTtlSeconds = 5;
}
