using System.Net;
using Steer.Policy;

namespace Steer.Core.Tests.Policy;

public sealed class RouteSetTests
{
    private static readonly IPNetwork UniverseV4 = IPNetwork.Parse("10.20.30.0/24");
    private static readonly IPNetwork UniverseV6 = IPNetwork.Parse("2001:db8::/120");

    [Fact]
    public void Compute_ListedWithExclusion_CarvesByMinimalSplitting()
    {
        SteeringPolicy policy = SteeringPolicy.Create(new SteeringPolicyOptions
        {
            Mode = PolicyMode.Listed,
            Rules = [PolicyRule.Parse("10.0.0.0/8", PolicyRuleKind.Include), PolicyRule.Parse("10.0.0.0/10", PolicyRuleKind.Exclude)],
        });

        RouteSet routes = RouteSet.Compute(policy);

        Assert.Equal([IPNetwork.Parse("10.64.0.0/10"), IPNetwork.Parse("10.128.0.0/9")], routes.Prefixes);
        Assert.Empty(routes.PortClasses);
    }

    [Fact]
    public void Compute_SiblingsMerge()
    {
        SteeringPolicy policy = SteeringPolicy.Create(new SteeringPolicyOptions
        {
            Mode = PolicyMode.Listed,
            Rules = [PolicyRule.Parse("10.0.0.0/9", PolicyRuleKind.Include), PolicyRule.Parse("10.128.0.0/9", PolicyRuleKind.Include), PolicyRule.Parse("2001:db8::/33", PolicyRuleKind.Include), PolicyRule.Parse("2001:db8:8000::/33", PolicyRuleKind.Include)],
        });

        Assert.Equal([IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("2001:db8::/32")], RouteSet.Compute(policy).Prefixes);
    }

    [Fact]
    public void Compute_ModeAll_CarvesAlwaysDirect_OrLeavesItToTheRouter()
    {
        SteeringPolicy policy = SteeringPolicy.Create(new SteeringPolicyOptions
        {
            Mode = PolicyMode.All,
            GatewayAddresses = [IPAddress.Parse("203.0.113.10")],
        });

        RouteSet carved = RouteSet.Compute(policy);
        RouteSet whole = RouteSet.Compute(policy, carveOutAlwaysDirect: false);

        Assert.Equal([IPNetwork.Parse("0.0.0.0/0"), IPNetwork.Parse("::/0")], whole.Prefixes);
        Assert.Contains(IPNetwork.Parse("203.0.113.10/32"), whole.AlwaysDirect);
        Assert.DoesNotContain(carved.Prefixes, p => p.Contains(IPAddress.Parse("203.0.113.10")) || p.Contains(IPAddress.Parse("127.0.0.1")) || p.Contains(IPAddress.Parse("fe80::1")) || p.Contains(IPAddress.Parse("::1")));
        Assert.Contains(carved.Prefixes, p => p.Contains(IPAddress.Parse("203.0.113.11")));
        Assert.Contains(carved.Prefixes, p => p.Contains(IPAddress.Parse("2001:db8::1")));
    }

    [Fact]
    public void Compute_WebMode_PortClassesForWebPorts()
    {
        SteeringPolicy policy = SteeringPolicy.Create(new SteeringPolicyOptions
        {
            Mode = PolicyMode.Web,
            Rules = [PolicyRule.Parse("10.0.0.0/8", PolicyRuleKind.Exclude)],
        });

        RouteSet routes = RouteSet.Compute(policy, carveOutAlwaysDirect: false);

        Assert.Empty(routes.Prefixes);
        Assert.Equal(["tcp/80", "tcp/443", "udp/443"], routes.PortClasses.Select(c => c.ToString().Split(':')[0]));
        PortRouteSet tcp443 = routes.PortClasses[1];
        Assert.Contains(tcp443.Prefixes, p => p.Contains(IPAddress.Parse("198.51.100.1")));
        Assert.DoesNotContain(tcp443.Prefixes, p => p.Contains(IPAddress.Parse("10.1.1.1")));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Compute_RandomPolicies_MatchBruteForceAndAreMinimal(int seed)
    {
        var random = new Random(seed);
        for (int round = 0; round < 40; round++)
        {
            (SteeringPolicy policy, ReferencePolicy reference, ReferencePolicy bare) = RandomPolicy(random);
            bool carve = random.Next(2) == 0;
            RouteSet routes = RouteSet.Compute(policy, carve);

            foreach (IReadOnlyList<IPNetwork> list in routes.PortClasses.Select(c => c.Prefixes).Prepend(routes.Prefixes))
            {
                AssertSortedAndDisjoint(list);
            }

            foreach ((int protocol, int port) in (ValueTuple<int, int>[])[(0, -1), (1, -1), (6, 22), (6, 23), (6, 80), (6, 443), (6, 8000), (6, 8050), (6, 8100), (6, 8101), (6, 65535), (17, 53), (17, 443), (17, 22)])
            {
                IReadOnlyList<IPNetwork> list = routes.PortClasses.FirstOrDefault(c => c.Protocol == protocol && port >= c.FirstPort && port <= c.LastPort)?.Prefixes
                    ?? routes.Prefixes;
                foreach (IPNetwork universe in (IPNetwork[])[UniverseV4, UniverseV6])
                {
                    bool[] expected = new bool[256];
                    for (int i = 0; i < 256; i++)
                    {
                        IPAddress address = Nth(universe, i);
                        (PolicyAction action, _) = reference.Decide(address, protocol, port);

                        // Without carving, the lists ignore the always-direct networks (the router keeps them out).
                        expected[i] = (carve ? action : bare.Decide(address, protocol, port).Action) == PolicyAction.Tunnel;
                        bool routed = list.Any(p => p.Contains(address));
                        Assert.True(expected[i] == routed, $"seed {seed} round {round} {address} proto {protocol} port {port}: expected {expected[i]}");
                        Assert.Equal(action, policy.Decide(address, protocol, port).Action);
                    }

                    // Minimality: inside the universe, the listed prefixes are exactly the canonical cover.
                    List<IPNetwork> inside = [.. list.Where(p => p.PrefixLength >= universe.PrefixLength && universe.Contains(p.BaseAddress))];
                    bool coversAll = list.Any(p => p.PrefixLength < universe.PrefixLength && p.Contains(universe.BaseAddress));
                    if (coversAll)
                    {
                        Assert.All(expected, Assert.True);
                        Assert.Empty(inside);
                    }
                    else
                    {
                        List<IPNetwork> canonical = [];
                        Cover(universe, expected, 0, 256, canonical);
                        Assert.Equal(canonical, inside);
                    }
                }
            }
        }
    }

    private static (SteeringPolicy, ReferencePolicy, ReferencePolicy) RandomPolicy(Random random)
    {
        var mode = (PolicyMode)random.Next(3);
        var rules = new List<PolicyRule>();
        int count = random.Next(0, 14);
        string[] ports = ["", "", "", ":tcp/22", ":tcp/80", ":tcp/8000-8100", ":udp/53", ":udp/443", ":tcp/1-1024"];
        for (int i = 0; i < count; i++)
        {
            bool v6 = random.Next(2) == 0;
            IPNetwork universe = v6 ? UniverseV6 : UniverseV4;
            int choice = random.Next(10);
            string destination = choice switch
            {
                0 => v6 ? "2001:db8::/32" : "10.0.0.0/8",
                1 => v6 ? "::/0" : "0.0.0.0/0",
                2 => v6 ? "2001:db9::/32" : "11.0.0.0/8",
                3 => string.Empty,
                _ => RandomSubnet(random, universe).ToString(),
            };
            string port = ports[random.Next(ports.Length)];
            string text = destination.Length == 0 ? (port.Length == 0 ? "tcp/8443" : port[1..]) : destination + port;
            rules.Add(PolicyRule.Parse(text, random.Next(2) == 0 ? PolicyRuleKind.Include : PolicyRuleKind.Exclude));
        }

        var gateways = new List<IPAddress>();
        var connected = new List<IPNetwork>();
        if (random.Next(3) == 0)
        {
            gateways.Add(Nth(UniverseV4, random.Next(256)));
        }

        if (random.Next(3) == 0)
        {
            connected.Add(RandomSubnet(random, UniverseV6));
        }

        SteeringPolicy policy = SteeringPolicy.Create(new SteeringPolicyOptions { Mode = mode, Rules = rules, GatewayAddresses = gateways, ConnectedNetworks = connected });
        return (policy, new ReferencePolicy(mode, rules, gateways, connected), new ReferencePolicy(mode, rules, [], []));
    }

    private static IPNetwork RandomSubnet(Random random, IPNetwork universe)
    {
        int extra = random.Next(0, 9);
        int length = universe.PrefixLength + extra;
        int index = random.Next(256) >> (8 - extra) << (8 - extra);
        return new IPNetwork(Nth(universe, index), length);
    }

    private static IPAddress Nth(IPNetwork universe, int i)
    {
        byte[] bytes = universe.BaseAddress.GetAddressBytes();
        bytes[^1] = (byte)i;
        return new IPAddress(bytes);
    }

    private static void Cover(IPNetwork universe, bool[] expected, int start, int size, List<IPNetwork> result)
    {
        bool all = true, none = true;
        for (int i = start; i < start + size; i++)
        {
            all &= expected[i];
            none &= !expected[i];
        }

        if (all)
        {
            result.Add(new IPNetwork(Nth(universe, start), universe.PrefixLength + (8 - (int)Math.Log2(size))));
        }
        else if (!none)
        {
            Cover(universe, expected, start, size / 2, result);
            Cover(universe, expected, start + (size / 2), size / 2, result);
        }
    }

    private static void AssertSortedAndDisjoint(IReadOnlyList<IPNetwork> list)
    {
        for (int i = 1; i < list.Count; i++)
        {
            IPNetwork a = list[i - 1], b = list[i];
            if (a.BaseAddress.AddressFamily != b.BaseAddress.AddressFamily)
            {
                continue;
            }

            Assert.False(a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress), $"{a} and {b} overlap");
            Assert.True(Compare(a.BaseAddress, b.BaseAddress) < 0, $"{a} before {b}");
        }
    }

    private static int Compare(IPAddress a, IPAddress b) =>
        ReferencePolicy.ToKey(a).Key.CompareTo(ReferencePolicy.ToKey(b).Key);
}
