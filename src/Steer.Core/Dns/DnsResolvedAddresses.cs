using System.Net;
using Steer.Policy;

namespace Steer.DnsStub;

/// <summary>What the DNS stub passes to its answer callbacks before it replies: the name, its rule and the addresses.</summary>
public sealed class DnsResolvedAddresses
{
    internal DnsResolvedAddresses(string name, DnsRecordType queryType, PolicyAction upstream, PolicyRule? rule,
        IReadOnlyList<(IPAddress Address, TimeSpan Ttl)> addresses)
    {
        Name = name;
        QueryType = queryType;
        Upstream = upstream;
        Rule = rule;
        Addresses = addresses;
    }

    /// <summary>The name asked for, as the client wrote it.</summary>
    public string Name { get; }

    /// <summary>The record type asked for (A, AAAA, or another type whose answer held addresses).</summary>
    public DnsRecordType QueryType { get; }

    /// <summary>Which upstream answered: the tunnel's or the direct one.</summary>
    public PolicyAction Upstream { get; }

    /// <summary>The domain rule that sent the name there, or null when no domain rule matched (the policy's default).</summary>
    public PolicyRule? Rule { get; }

    /// <summary>The answered addresses (of the name or its CNAME chain) with the time to live of each.</summary>
    public IReadOnlyList<(IPAddress Address, TimeSpan Ttl)> Addresses { get; }
}
