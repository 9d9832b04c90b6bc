namespace Steer.Tun.Tests;

/// <summary>
/// Tests that change the host's interfaces, routes, nftables or sysctls share fixed test prefixes
/// (198.18.250.0/24, 198.18.251.0/24, fd53:7ee7:250::/64), so they never run in parallel with each other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostNetworkCollection
{
    public const string Name = "HostNetwork";
}
