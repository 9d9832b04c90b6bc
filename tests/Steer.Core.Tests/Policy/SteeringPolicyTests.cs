using System.Buffers.Binary;
using System.Net;
using Steer.Policy;

namespace Steer.Core.Tests.Policy;

public sealed class SteeringPolicyTests
{
    private static SteeringPolicy Compile(PolicyMode mode, string[] include, string[] exclude, string[]? gateways = null, string[]? connected = null) =>
        SteeringPolicy.Create(new SteeringPolicyOptions
        {
            Mode = mode,
            Rules = [.. include.Select(t => PolicyRule.Parse(t, PolicyRuleKind.Include)), .. exclude.Select(t => PolicyRule.Parse(t, PolicyRuleKind.Exclude))],
            GatewayAddresses = [.. (gateways ?? []).Select(IPAddress.Parse)],
            ConnectedNetworks = [.. (connected ?? []).Select(IPNetwork.Parse)],
        });

    private static PolicyDecision Decide(SteeringPolicy policy, string address, int protocol = 0, int port = -1) =>
        policy.Decide(IPAddress.Parse(address), protocol, port);

    [Fact]
    public void ModeAll_EverythingTunnelled_ExcludesDirect()
    {
        SteeringPolicy policy = Compile(PolicyMode.All, [], ["192.0.2.0/24", "2001:db8:1::/48"]);

        PolicyDecision d = Decide(policy, "198.51.100.1", 6, 443);
        Assert.Equal(PolicyAction.Tunnel, d.Action);
        Assert.Equal(PolicyRuleOrigin.Mode, d.Rule.Origin);
        Assert.Equal(PolicyAction.Direct, Decide(policy, "192.0.2.9").Action);
        Assert.Equal("192.0.2.0/24", Decide(policy, "192.0.2.9").Rule.Text);
        Assert.Equal(PolicyAction.Direct, Decide(policy, "2001:db8:1::5").Action);
        Assert.Equal(PolicyAction.Tunnel, Decide(policy, "2001:db8:2::5").Action);
        Assert.Equal(PolicyAction.Tunnel, policy.UnmatchedNameResolution);
    }

    [Fact]
    public void ModeWeb_WebPortsAndListedPortsTunnelled_RestDirect()
    {
        SteeringPolicy policy = Compile(PolicyMode.Web, ["tcp/8443", "10.0.0.0/8"], []);

        Assert.True(Decide(policy, "198.51.100.1", 6, 80).IsTunnel);
        Assert.True(Decide(policy, "198.51.100.1", 6, 443).IsTunnel);
        Assert.True(Decide(policy, "198.51.100.1", 17, 443).IsTunnel);
        Assert.True(Decide(policy, "2001:db8::1", 6, 443).IsTunnel);
        Assert.True(Decide(policy, "198.51.100.1", 6, 8443).IsTunnel);
        Assert.False(Decide(policy, "198.51.100.1", 6, 22).IsTunnel);
        Assert.False(Decide(policy, "198.51.100.1", 17, 80).IsTunnel);
        Assert.False(Decide(policy, "198.51.100.1", 1, -1).IsTunnel);
        Assert.Equal(PolicyRuleOrigin.Default, Decide(policy, "198.51.100.1", 6, 22).Rule.Origin);
        Assert.True(Decide(policy, "10.1.2.3", 6, 22).IsTunnel);
        Assert.Equal(PolicyAction.Direct, policy.UnmatchedNameResolution);
    }

    [Fact]
    public void ModeListed_OnlyIncludes()
    {
        SteeringPolicy policy = Compile(PolicyMode.Listed, ["10.0.0.0/8", "2001:db8::/32:tcp/22"], []);

        Assert.True(Decide(policy, "10.9.9.9").IsTunnel);
        Assert.False(Decide(policy, "11.0.0.1").IsTunnel);
        Assert.True(Decide(policy, "2001:db8::1", 6, 22).IsTunnel);
        Assert.False(Decide(policy, "2001:db8::1", 6, 23).IsTunnel);
        Assert.False(Decide(policy, "2001:db8::1", 17, 22).IsTunnel);
        Assert.False(Decide(policy, "2001:db8::1", 6, 443).IsTunnel);
    }

    [Fact]
    public void Precedence_LongerPrefixWins_EitherWay()
    {
        SteeringPolicy policy = Compile(PolicyMode.Listed, ["10.0.0.0/8", "10.1.2.0/24"], ["10.1.0.0/16"]);

        Assert.True(Decide(policy, "10.2.0.1").IsTunnel);
        Assert.False(Decide(policy, "10.1.3.1").IsTunnel);
        Assert.True(Decide(policy, "10.1.2.1").IsTunnel);
        Assert.Equal("10.1.2.0/24", Decide(policy, "10.1.2.1").Rule.Text);
    }

    [Fact]
    public void Precedence_PortBeatsSameDestinationWithout_NarrowerRangeBeatsWider()
    {
        SteeringPolicy policy = Compile(PolicyMode.Listed, ["10.0.0.0/8:tcp/22", "10.0.0.0/8:tcp/1-1024"], ["10.0.0.0/8", "10.0.0.0/8:tcp/1-100"]);

        Assert.True(Decide(policy, "10.0.0.1", 6, 22).IsTunnel);
        Assert.False(Decide(policy, "10.0.0.1", 6, 50).IsTunnel);   // 1-100 beats 1-1024
        Assert.True(Decide(policy, "10.0.0.1", 6, 500).IsTunnel);
        Assert.False(Decide(policy, "10.0.0.1", 6, 2000).IsTunnel);
        Assert.False(Decide(policy, "10.0.0.1", 17, 22).IsTunnel);
    }

    [Fact]
    public void Precedence_DestinationBeforePort()
    {
        // An exclude of a longer prefix beats an include with a port on a shorter one.
        SteeringPolicy policy = Compile(PolicyMode.All, ["tcp/8443"], ["10.0.0.0/8"]);

        Assert.False(Decide(policy, "10.0.0.1", 6, 8443).IsTunnel);
    }

    [Fact]
    public void Precedence_TieExcludeWins()
    {
        SteeringPolicy policy = Compile(PolicyMode.Listed, ["10.0.0.0/8", "10.0.0.0/8:tcp/22"], ["10.0.0.0/8", "10.0.0.0/8:tcp/22"]);

        Assert.False(Decide(policy, "10.0.0.1", 6, 22).IsTunnel);
        Assert.Equal(PolicyRuleKind.Exclude, Decide(policy, "10.0.0.1", 6, 22).Rule.Kind);
        Assert.False(Decide(policy, "10.0.0.1").IsTunnel);
    }

    [Theory]
    [InlineData("203.0.113.10", PolicyRuleOrigin.Gateway)]
    [InlineData("2001:db8:ffff::10", PolicyRuleOrigin.Gateway)]
    [InlineData("192.168.1.77", PolicyRuleOrigin.ConnectedNetwork)]
    [InlineData("fd00:1:2:3::9", PolicyRuleOrigin.ConnectedNetwork)]
    [InlineData("127.0.0.1", PolicyRuleOrigin.Reserved)]
    [InlineData("169.254.1.1", PolicyRuleOrigin.Reserved)]
    [InlineData("224.0.0.251", PolicyRuleOrigin.Reserved)]
    [InlineData("255.255.255.255", PolicyRuleOrigin.Reserved)]
    [InlineData("::1", PolicyRuleOrigin.Reserved)]
    [InlineData("fe80::1", PolicyRuleOrigin.Reserved)]
    [InlineData("ff02::fb", PolicyRuleOrigin.Reserved)]
    public void AlwaysDirect_BeatsEvenAHostInclude(string address, PolicyRuleOrigin origin)
    {
        SteeringPolicy policy = Compile(PolicyMode.All, [$"{address}:tcp/443", address], [],
            gateways: ["203.0.113.10", "2001:db8:ffff::10"], connected: ["192.168.1.7/24", "fd00:1:2:3::1/64"]);

        PolicyDecision d = Decide(policy, address, 6, 443);

        Assert.Equal(PolicyAction.Direct, d.Action);
        Assert.Equal(origin, d.Rule.Origin);
    }

    [Fact]
    public void Decide_Bytes_SameAsAddress_AndMappedIPv4CountsAsIPv4()
    {
        SteeringPolicy policy = Compile(PolicyMode.Listed, ["10.0.0.0/8"], []);

        Assert.True(policy.Decide(IPAddress.Parse("10.1.1.1").GetAddressBytes(), 0, -1).IsTunnel);
        Assert.True(policy.Decide(IPAddress.Parse("::ffff:10.1.1.1")).IsTunnel);
        Assert.Throws<ArgumentException>(() => policy.Decide(new byte[5], 0, -1));
    }

    [Fact]
    public void DomainRules_LearnedAddresses_DecideBeforeNetworks()
    {
        SteeringPolicy policy = Compile(PolicyMode.Listed, ["*.corp.example.com", "app.example.com:tcp/443"], ["198.51.100.0/24", "public.corp.example.com"]);

        Assert.True(policy.TryDecideName("git.corp.example.com", 6, 22, out PolicyDecision byName));
        Assert.True(byName.IsTunnel);
        Assert.False(policy.TryDecideName("unrelated.example.org", 6, 22, out _));

        Assert.False(Decide(policy, "198.51.100.7", 6, 22).IsTunnel);
        Assert.Equal(1, policy.AddResolvedAddresses("git.corp.example.com", [(IPAddress.Parse("198.51.100.7"), TimeSpan.FromMinutes(5))]));
        Assert.Equal(0, policy.AddResolvedAddresses("unrelated.example.org", [(IPAddress.Parse("198.51.100.8"), TimeSpan.FromMinutes(5))]));
        PolicyDecision d = Decide(policy, "198.51.100.7", 6, 22);
        Assert.True(d.IsTunnel);
        Assert.Equal("*.corp.example.com", d.Rule.Text);

        policy.AddResolvedAddresses("app.example.com", [(IPAddress.Parse("2001:db8::443"), TimeSpan.FromMinutes(5))]);
        Assert.True(Decide(policy, "2001:db8::443", 6, 443).IsTunnel);
        Assert.False(Decide(policy, "2001:db8::443", 6, 80).IsTunnel);

        // The same address answered for an excluded exact name: the exact name wins over the wildcard.
        policy.AddResolvedAddresses("public.corp.example.com", [(IPAddress.Parse("198.51.100.7"), TimeSpan.FromMinutes(5))]);
        Assert.False(Decide(policy, "198.51.100.7", 6, 22).IsTunnel);
        Assert.Equal(2, policy.ResolvedAddressCount);
    }

    [Fact]
    public void RemoveExpiredResolvedAddresses_HonoursTtlAndKeep()
    {
        var time = new ManualTimeProvider();
        SteeringPolicy policy = SteeringPolicy.Create(new SteeringPolicyOptions
        {
            Mode = PolicyMode.Listed,
            Rules = [PolicyRule.Parse("*.example.com", PolicyRuleKind.Include)],
            TimeProvider = time,
        });
        policy.AddResolvedAddresses("a.example.com", [(IPAddress.Parse("192.0.2.1"), TimeSpan.FromSeconds(30)), (IPAddress.Parse("192.0.2.2"), TimeSpan.FromSeconds(300))]);
        policy.AddResolvedAddresses("b.example.com", [(IPAddress.Parse("192.0.2.3"), TimeSpan.FromSeconds(30))]);

        Assert.Empty(policy.RemoveExpiredResolvedAddresses());
        time.Advance(TimeSpan.FromSeconds(31));
        IReadOnlyList<IPAddress> removed = policy.RemoveExpiredResolvedAddresses(keep: a => a.Equals(IPAddress.Parse("192.0.2.3")));

        Assert.Equal([IPAddress.Parse("192.0.2.1")], removed);
        Assert.False(Decide(policy, "192.0.2.1").IsTunnel);
        Assert.True(Decide(policy, "192.0.2.2").IsTunnel);
        Assert.True(Decide(policy, "192.0.2.3").IsTunnel);
    }

    [Fact]
    public void SteerPacket_IPv4_ReadsProtocolAndPort_FragmentsWithoutPort()
    {
        SteeringPolicy policy = Compile(PolicyMode.Web, [], []);

        Assert.True(policy.SteerPacket(Packets.V4("198.51.100.1", 6, 443)));
        Assert.False(policy.SteerPacket(Packets.V4("198.51.100.1", 6, 22)));
        Assert.True(policy.SteerPacket(Packets.V4("198.51.100.1", 17, 443)));
        Assert.False(policy.SteerPacket(Packets.V4("198.51.100.1", 1, 443)));
        Assert.True(policy.SteerPacket(Packets.V4("198.51.100.1", 6, 443, options: 8)));
        Assert.False(policy.SteerPacket(Packets.V4("198.51.100.1", 6, 443, fragmentOffset: 185)));
        Assert.True(policy.SteerPacket(Packets.V4("198.51.100.1", 6, 443, fragmentOffset: 0, moreFragments: true)));
        Assert.True(policy.TryDecidePacket(Packets.V4("198.51.100.1", 6, 80), out PolicyDecision d));
        Assert.Equal("mode web: tcp/80", d.Rule.Text);
    }

    [Fact]
    public void SteerPacket_IPv6_SkipsExtensionHeaders()
    {
        SteeringPolicy policy = Compile(PolicyMode.Web, [], []);

        Assert.True(policy.SteerPacket(Packets.V6("2001:db8::1", 6, 443)));
        Assert.False(policy.SteerPacket(Packets.V6("2001:db8::1", 6, 22)));
        foreach (byte header in (byte[])[0, 43, 60, 51])
        {
            Assert.True(policy.SteerPacket(Packets.V6("2001:db8::1", 6, 443, 0, header)), $"after header {header}");
            Assert.False(policy.SteerPacket(Packets.V6("2001:db8::1", 6, 22, 0, header)), $"after header {header}");
        }

        Assert.True(policy.SteerPacket(Packets.V6("2001:db8::1", 17, 443, 0, 60, 43)));
        Assert.True(policy.SteerPacket(Packets.V6("2001:db8::1", 6, 443, 0, 44)));                           // first fragment
        Assert.False(policy.SteerPacket(Packets.V6("2001:db8::1", 6, 443, 100, 44))); // later fragment
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x45, 0, 0, 20 })]
    [InlineData(new byte[] { 0x60, 0, 0, 0 })]
    [InlineData(new byte[] { 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0x46, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1 })]
    public void SteerPacket_Malformed_False(byte[] packet)
    {
        SteeringPolicy policy = Compile(PolicyMode.All, [], []);

        Assert.False(policy.SteerPacket(packet));
        Assert.False(policy.TryDecidePacket(packet, out _));
    }

    [Fact]
    public void SteerPacket_TruncatedTransportOrExtensionHeader_DecidesWithoutPort()
    {
        SteeringPolicy policy = Compile(PolicyMode.Listed, ["10.0.0.0/8:tcp/22", "2001:db8::/32"], []);

        byte[] v4 = Packets.V4("10.0.0.1", 6, 22);
        Assert.True(policy.SteerPacket(v4));
        Assert.False(policy.SteerPacket(v4.AsSpan(0, 22)));

        byte[] v6 = Packets.V6("2001:db8::1", 6, 22, 0, 43);
        for (int length = 40; length <= v6.Length; length++)
        {
            Assert.True(policy.SteerPacket(v6.AsSpan(0, length)));
        }
    }

    [Fact]
    public void SteerPacket_AllocatesNothing()
    {
        SteeringPolicy policy = Compile(PolicyMode.Listed, ["10.0.0.0/8:tcp/22", "2001:db8::/32", "*.example.com"], ["10.1.0.0/16"]);
        policy.AddResolvedAddresses("a.example.com", [(IPAddress.Parse("192.0.2.1"), TimeSpan.FromMinutes(1))]);
        byte[][] packets = [Packets.V4("10.0.0.1", 6, 22), Packets.V4("192.0.2.1", 17, 53), Packets.V6("2001:db8::1", 6, 443, 0, 44), Packets.V4("10.1.0.1", 6, 22)];
        foreach (byte[] p in packets)
        {
            policy.SteerPacket(p); // warm up
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int tunnelled = 0;
        for (int i = 0; i < 10_000; i++)
        {
            tunnelled += policy.SteerPacket(packets[i % packets.Length]) ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(7_500, tunnelled);
    }

    private sealed class ManualTimeProvider : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}

/// <summary>Builds IPv4/IPv6 packets with a transport header for the packet parser.</summary>
internal static class Packets
{
    public static byte[] V4(string destination, int protocol, int port, int options = 0, int fragmentOffset = 0, bool moreFragments = false)
    {
        int header = 20 + options;
        byte[] p = new byte[header + 20];
        p[0] = (byte)(0x40 | (header / 4));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), (ushort)((moreFragments ? 0x2000 : 0) | fragmentOffset));
        p[8] = 64;
        p[9] = (byte)protocol;
        IPAddress.Parse("100.64.0.2").TryWriteBytes(p.AsSpan(12), out _);
        IPAddress.Parse(destination).TryWriteBytes(p.AsSpan(16), out _);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(header), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(header + 2), (ushort)port);
        return p;
    }

    public static byte[] V6(string destination, int protocol, int port, int fragmentOffset = 0, params byte[] headers)
    {
        var body = new List<byte>();
        for (int i = 0; i < headers.Length; i++)
        {
            byte next = i + 1 < headers.Length ? headers[i + 1] : (byte)protocol;
            switch (headers[i])
            {
                case 44:
                    body.AddRange([next, 0, (byte)(fragmentOffset >> 5), (byte)((fragmentOffset << 3) & 0xF8), 0, 0, 0, 1]);
                    break;
                case 51: // AH: length 4 => (4 + 2) * 4 = 24 bytes
                    body.AddRange([next, 4, .. new byte[22]]);
                    break;
                default: // 16 bytes: length field 1
                    body.AddRange([next, 1, .. new byte[14]]);
                    break;
            }
        }

        byte[] transport = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(transport, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(transport.AsSpan(2), (ushort)port);
        body.AddRange(transport);

        byte[] p = new byte[40 + body.Count];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)body.Count);
        p[6] = headers.Length > 0 ? headers[0] : (byte)protocol;
        p[7] = 64;
        IPAddress.Parse("fd53:7ee7:ff::2").TryWriteBytes(p.AsSpan(8), out _);
        IPAddress.Parse(destination).TryWriteBytes(p.AsSpan(24), out _);
        body.CopyTo(p, 40);
        return p;
    }
}
