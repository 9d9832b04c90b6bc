using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Steer.Policy;

namespace Steer.MicroBench.Infrastructure;

/// <summary>
/// Random steering policies and the packets to decide, built like <c>PolicyScaleTests</c> in tests/Steer.Core.Tests
/// (same rule mix, same destination mix), from a fixed seed so every run measures the same policy.
/// </summary>
internal static class PolicyScenario
{
    /// <summary>The seed of <c>PolicyScaleTests</c>' mode-web case.</summary>
    public const int Seed = 11;

    private static readonly string[] s_ports = ["tcp/22", "tcp/80", "tcp/443", "udp/53", "tcp/8000-8100", "udp/10000-20000", "tcp/1-1024"];
    private static readonly int[] s_interestingPorts = [22, 80, 443, 8000, 8100, 1024];

    /// <summary>
    /// <paramref name="count"/> distinct random rules: a quarter IPv6, a tenth any-destination port rules, a fifth
    /// network rules with ports, the rest plain networks (IPv4 /8–/32, IPv6 /16–/64); half include, half exclude.
    /// </summary>
    /// <remarks>
    /// Unlike the test, a rule drawn twice is dropped and another drawn, as <c>SteeringPolicyOptions.FromSettings</c>
    /// drops duplicate (kind, text) pairs from a configuration: the generator yields only 14 distinct
    /// any-destination port rules, and keeping its ~1,000 duplicates would put them all on the /0 prefix, where a
    /// lookup tries a prefix's rules one by one (a packet that falls through to /0 would cost about 1 µs).
    /// </remarks>
    /// <returns>The rules, and the networks of the network rules by family (for destinations inside them).</returns>
    public static (List<PolicyRule> Rules, List<IPNetwork> Networks4, List<IPNetwork> Networks6) RandomRules(Random random, int count)
    {
        var rules = new List<PolicyRule>(count);
        var seen = new HashSet<(PolicyRuleKind, string)>();
        var networks4 = new List<IPNetwork>();
        var networks6 = new List<IPNetwork>();
        for (int draws = 0; rules.Count < count && draws < count * 4; draws++)
        {
            bool v6 = random.Next(4) == 0;
            IPNetwork network = RandomNetwork(random, v6);
            int kind = random.Next(10);
            string text = kind switch
            {
                0 => s_ports[random.Next(s_ports.Length)],                       // any destination, ported
                1 or 2 => $"{network}:{s_ports[random.Next(s_ports.Length)]}",   // network and port
                _ => network.ToString(),
            };
            PolicyRule rule = PolicyRule.Parse(text, random.Next(2) == 0 ? PolicyRuleKind.Include : PolicyRuleKind.Exclude);
            if (!seen.Add((rule.Kind, rule.Text)))
            {
                continue;
            }

            rules.Add(rule);
            if (kind != 0)
            {
                (v6 ? networks6 : networks4).Add(network);
            }
        }

        return (rules, networks4, networks6);
    }

    /// <summary>
    /// A mode-web policy of <paramref name="ruleCount"/> random rules (<see cref="Seed"/>) with the gateways and the
    /// connected network of <c>PolicyScaleTests</c>, plus <paramref name="extraRules"/>.
    /// </summary>
    public static (SteeringPolicy Policy, List<IPNetwork> Networks4, List<IPNetwork> Networks6) CreatePolicy(
        Random random, int ruleCount, params PolicyRule[] extraRules)
    {
        (List<PolicyRule> rules, List<IPNetwork> networks4, List<IPNetwork> networks6) = RandomRules(random, ruleCount);
        rules.AddRange(extraRules);
        SteeringPolicy policy = SteeringPolicy.Create(new SteeringPolicyOptions
        {
            Mode = PolicyMode.Web,
            Rules = rules,
            GatewayAddresses = [IPAddress.Parse("10.1.2.3"), IPAddress.Parse("2001:db8::1")],
            ConnectedNetworks = [IPNetwork.Parse("192.168.0.0/16")],
        });
        return (policy, networks4, networks6);
    }

    /// <summary>
    /// <paramref name="count"/> packets, 3 IPv4 to 1 IPv6; every other one to an address inside a random rule network
    /// of its family, the rest anywhere. Protocols as in <c>PolicyScaleTests</c>: a fifth ICMP, a fifth UDP to a random
    /// port, a fifth TCP to a port the rules name, two fifths TCP to a random port.
    /// </summary>
    public static byte[][] RandomPackets(Random random, int count, List<IPNetwork> networks4, List<IPNetwork> networks6)
    {
        var packets = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            bool v6 = i % 4 == 3;
            List<IPNetwork> networks = v6 ? networks6 : networks4;
            IPAddress destination = i % 2 == 0 && networks.Count > 0
                ? RandomAddressIn(random, networks[random.Next(networks.Count)])
                : RandomAddress(random, v6);
            (int protocol, int port) = random.Next(5) switch
            {
                0 => (v6 ? 58 : 1, -1),
                1 => (PolicyRule.Udp, random.Next(1, 65536)),
                2 => (PolicyRule.Tcp, s_interestingPorts[random.Next(s_interestingPorts.Length)]),
                _ => (PolicyRule.Tcp, random.Next(1, 65536)),
            };
            packets[i] = Packet(destination, protocol, port);
        }

        return packets;
    }

    /// <summary>An IPv4 or IPv6 packet to <paramref name="destination"/>: the IP header, then a TCP (20 bytes), UDP or ICMP (8 bytes) header.</summary>
    public static byte[] Packet(IPAddress destination, int protocol, int port)
    {
        bool v6 = destination.AddressFamily == AddressFamily.InterNetworkV6;
        int ipHeader = v6 ? 40 : 20;
        int transportHeader = protocol == PolicyRule.Tcp ? 20 : 8;
        byte[] packet = new byte[ipHeader + transportHeader];
        if (v6)
        {
            packet[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)transportHeader);
            packet[6] = (byte)protocol;
            packet[7] = 64;
            BinaryPrimitives.WriteUInt128BigEndian(packet.AsSpan(8), TestPackets.Ula(1, 2));
            destination.TryWriteBytes(packet.AsSpan(24, 16), out _);
        }
        else
        {
            packet[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
            packet[8] = 64;
            packet[9] = (byte)protocol;
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), 0x64_40_00_02); // 100.64.0.2
            destination.TryWriteBytes(packet.AsSpan(16, 4), out _);
        }

        if (port >= 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(ipHeader), 40000);
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(ipHeader + 2), (ushort)port);
        }

        return packet;
    }

    private static IPNetwork RandomNetwork(Random random, bool v6)
    {
        int length = v6 ? random.Next(16, 65) : random.Next(8, 33);
        return Masked(RandomAddress(random, v6), length);
    }

    private static IPAddress RandomAddress(Random random, bool v6)
    {
        byte[] bytes = new byte[v6 ? 16 : 4];
        random.NextBytes(bytes);
        if (v6)
        {
            bytes[0] = 0x20; // global unicast, so that most addresses are not reserved
            bytes[1] = (byte)(random.Next(2) == 0 ? 0x01 : bytes[1]);
        }

        return new IPAddress(bytes);
    }

    private static IPAddress RandomAddressIn(Random random, IPNetwork network)
    {
        byte[] bytes = network.BaseAddress.GetAddressBytes();
        byte[] noise = new byte[bytes.Length];
        random.NextBytes(noise);
        for (int bit = network.PrefixLength; bit < bytes.Length * 8; bit++)
        {
            int mask = 0x80 >> (bit % 8);
            bytes[bit / 8] = (byte)((bytes[bit / 8] & ~mask) | (noise[bit / 8] & mask));
        }

        return new IPAddress(bytes);
    }

    private static IPNetwork Masked(IPAddress address, int length)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int bit = length; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPNetwork(new IPAddress(bytes), length);
    }
}
