using System.Net;
using Steer.Policy;

namespace Steer.Core.Tests.Policy;

/// <summary>Correctness at scale: 10,000 rules, 100,000 destinations, checked against the brute-force reference.</summary>
public sealed class PolicyScaleTests
{
    private static readonly int[] s_interestingPorts = [22, 80, 443, 8000, 8100, 1024];

    [Theory]
    [InlineData(PolicyMode.Web, 11, 100_000)]
    [InlineData(PolicyMode.All, 10, 20_000)]
    [InlineData(PolicyMode.Listed, 12, 20_000)]
    public void Decide_TenThousandRules_MatchesBruteForce(PolicyMode mode, int seed, int destinations)
    {
        var random = new Random(seed);
        var rules = new List<PolicyRule>(10_000);
        var networks = new List<IPNetwork>(10_000);
        string[] ports = ["tcp/22", "tcp/80", "tcp/443", "udp/53", "tcp/8000-8100", "udp/10000-20000", "tcp/1-1024"];
        while (rules.Count < 10_000)
        {
            IPNetwork network = random.Next(4) == 0 ? RandomNetwork(random, v6: true) : RandomNetwork(random, v6: false);
            int kind = random.Next(10);
            string text = kind switch
            {
                0 => ports[random.Next(ports.Length)],                                  // any destination, ported
                1 or 2 => $"{network}:{ports[random.Next(ports.Length)]}",              // network and port
                _ => network.ToString(),
            };
            rules.Add(PolicyRule.Parse(text, random.Next(2) == 0 ? PolicyRuleKind.Include : PolicyRuleKind.Exclude));
            networks.Add(network);
        }

        IPAddress[] gateways = [IPAddress.Parse("10.1.2.3"), IPAddress.Parse("2001:db8::1")];
        IPNetwork[] connected = [IPNetwork.Parse("192.168.0.0/16")];
        SteeringPolicy policy = SteeringPolicy.Create(new SteeringPolicyOptions { Mode = mode, Rules = rules, GatewayAddresses = gateways, ConnectedNetworks = connected });
        var reference = new ReferencePolicy(mode, rules, gateways, connected);

        int tunnelled = 0;
        for (int i = 0; i < destinations; i++)
        {
            // Half near a rule (its network with random host bits), half anywhere.
            IPAddress destination = i % 2 == 0 ? RandomAddressIn(random, networks[random.Next(networks.Count)]) : RandomAddress(random, v6: random.Next(4) == 0);
            (int protocol, int port) = random.Next(5) switch
            {
                0 => (1, -1),
                1 => (17, random.Next(1, 65536)),
                2 => (6, s_interestingPorts[random.Next(s_interestingPorts.Length)]),
                _ => (6, random.Next(1, 65536)),
            };

            (PolicyAction expected, (int, bool, int, PolicyRuleKind)? key) = reference.Decide(destination, protocol, port);
            PolicyDecision actual = policy.Decide(destination, protocol, port);

            Assert.True(expected == actual.Action, $"{destination} {protocol}/{port}: expected {expected}, got {actual}");
            if (key is { } k && actual.Rule.Origin == PolicyRuleOrigin.Configuration)
            {
                Assert.Equal(k, ReferencePolicy.KeyOf(actual.Rule));
            }

            if (i % 10 == 0 && protocol is 6 or 17)
            {
                // The per-packet path decides the same.
                byte[] packet = destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
                    ? Packets.V4(destination.ToString(), protocol, port)
                    : Packets.V6(destination.ToString(), protocol, port);
                Assert.Equal(actual.IsTunnel, policy.SteerPacket(packet));
            }

            tunnelled += actual.IsTunnel ? 1 : 0;
        }

        Assert.InRange(tunnelled, 1, destinations - 1); // Both outcomes occur, so the comparison meant something.
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
