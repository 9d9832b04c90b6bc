using System.Diagnostics;
using System.Net;
using Steer.DnsStub;

namespace Steer.Core.Tests.Dns;

/// <summary>
/// Property tests of the DNS message parser: random mutations of valid messages only ever give false (never an
/// exception, never a hang), and whatever parses writes back to a message that parses to the same content.
/// </summary>
public sealed class DnsMessageFuzzTests
{
    private const int Inputs = 100_000;

    [Fact]
    public void TryParse_MutatedMessages_FixedSeed_NeverThrows() => Fuzz(20251125);

    [Fact]
    public void TryParse_MutatedMessages_RandomSeed_NeverThrows()
    {
        int seed = Random.Shared.Next();
        TestContext.Current.TestOutputHelper?.WriteLine($"DNS fuzz seed: {seed} (rerun with this seed to reproduce)");
        Fuzz(seed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RoundTrip_GeneratedMessages_SameContentAndBytes(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 2_000; i++)
        {
            DnsMessage original = Generate(random);
            byte[] wire = original.ToArray();

            Assert.True(DnsMessage.TryParse(wire, out DnsMessage? parsed, out string error), $"seed {seed} message {i}: {error}");
            AssertSameContent(original, parsed);
            Assert.Equal(wire, parsed.ToArray());
        }
    }

    private static void Fuzz(int seed)
    {
        var random = new Random(seed);
        byte[][] corpus = [.. Enumerable.Range(0, 64).Select(_ => Generate(random).ToArray())];
        int parsed = 0;
        for (int i = 0; i < Inputs; i++)
        {
            byte[] input = Mutate(random, corpus[random.Next(corpus.Length)], corpus);
            long before = Stopwatch.GetTimestamp();
            bool ok;
            DnsMessage? message;
            string error;
            try
            {
                ok = DnsMessage.TryParse(input, out message, out error);
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed} input {i} ({Convert.ToHexString(input)}) threw {ex}");
                return;
            }

            Assert.True(Stopwatch.GetElapsedTime(before) < TimeSpan.FromSeconds(1), $"seed {seed} input {i} took too long");
            if (ok)
            {
                // What parses must write and parse back to the same thing.
                parsed++;
                Assert.True(DnsMessage.TryParse(message!.ToArray(), out DnsMessage? again, out error), $"seed {seed} input {i}: rewrite does not parse: {error}");
                AssertSameContent(message, again);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(error));
                Assert.Null(message);
            }
        }

        Assert.InRange(parsed, 1, Inputs - 1); // Both outcomes occur: the mutations reach deep into messages.
    }

    private static byte[] Mutate(Random random, byte[] seed, byte[][] corpus)
    {
        var data = new List<byte>(seed);
        int mutations = random.Next(1, 6);
        for (int m = 0; m < mutations; m++)
        {
            int position = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(9))
            {
                case 0 when data.Count > 0:
                    data[position] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[position] = (byte)random.Next(256);
                    break;
                case 2:
                    data.Insert(position, (byte)random.Next(256));
                    break;
                case 3 when data.Count > 0:
                    data.RemoveAt(position);
                    break;
                case 4:
                    data.RemoveRange(position, data.Count - position); // truncate
                    break;
                case 5 when data.Count > 1:
                    // A compression pointer anywhere, to anywhere.
                    data[position] = (byte)(0xC0 | random.Next(4));
                    if (position + 1 < data.Count)
                    {
                        data[position + 1] = (byte)random.Next(256);
                    }

                    break;
                case 6 when data.Count >= 12:
                    // Header counts.
                    data[4 + (2 * random.Next(4)) + 1] = (byte)random.Next(256);
                    break;
                case 7:
                    // Splice a piece of another message.
                    byte[] other = corpus[random.Next(corpus.Length)];
                    int from = random.Next(other.Length);
                    data.InsertRange(position, other.Skip(from).Take(random.Next(1, 40)));
                    break;
                default:
                    // A label length byte somewhere.
                    if (data.Count > 0)
                    {
                        data[position] = (byte)random.Next(0, 80);
                    }

                    break;
            }
        }

        return [.. data];
    }

    private static DnsMessage Generate(Random random)
    {
        var m = new DnsMessage { Id = (ushort)random.Next(65536), Flags = (ushort)random.Next(65536) };
        string[] zone = ["example.com", "corp.example.com", "a.b.example.com", "xn--bcher-kva.example", "EXAMPLE.com"];
        string Name() => random.Next(6) switch
        {
            0 => ".",
            1 => RandomLabel(random) + "." + zone[random.Next(zone.Length)],
            2 => RandomLabel(random),
            _ => zone[random.Next(zone.Length)],
        };

        int questions = random.Next(0, 3);
        for (int i = 0; i < questions; i++)
        {
            m.Questions.Add(new DnsQuestion(Name(), (DnsRecordType)random.Next(1, 300), (ushort)random.Next(1, 5)));
        }

        foreach (List<DnsResourceRecord> section in (List<DnsResourceRecord>[])[m.Answers, m.Authorities, m.Additionals])
        {
            int count = random.Next(0, 5);
            for (int i = 0; i < count; i++)
            {
                section.Add(random.Next(6) switch
                {
                    0 => DnsResourceRecord.ForAddress(Name(), new IPAddress(RandomBytes(random, 4)), (uint)random.Next()),
                    1 => DnsResourceRecord.ForAddress(Name(), new IPAddress(RandomBytes(random, 16)), (uint)random.Next()),
                    2 => DnsResourceRecord.ForCanonicalName(Name(), Name(), (uint)random.Next()),
                    3 => new DnsResourceRecord(Name(), DnsRecordType.MX, 1, 60, Mx(random, Name())),
                    4 => new DnsResourceRecord(Name(), DnsRecordType.SOA, 1, 60, Soa(random, Name(), Name())),
                    _ => new DnsResourceRecord(Name(), (DnsRecordType)(random.Next(2) == 0 ? 16 : random.Next(100, 300)), 1, 60, RandomBytes(random, random.Next(0, 40))),
                });
            }
        }

        if (random.Next(2) == 0)
        {
            m.Additionals.Add(new DnsResourceRecord(".", DnsRecordType.OPT, (ushort)random.Next(512, 4097), random.Next(2) == 0 ? 0x8000u : 0u, RandomBytes(random, random.Next(0, 3) * 4)));
        }

        return m;
    }

    private static string RandomLabel(Random random)
    {
        int length = random.Next(1, 64);
        char[] chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"[random.Next(64)];
        }

        string label = new(chars);
        return random.Next(8) == 0 ? label[..Math.Min(label.Length, 59)] + @"\.\000" : label; // escapes now and then
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mx(Random random, string exchange) =>
        [(byte)random.Next(256), (byte)random.Next(256), .. Wire(exchange)];

    private static byte[] Soa(Random random, string primary, string mailbox) =>
        [.. Wire(primary), .. Wire(mailbox), .. RandomBytes(random, 20)];

    private static byte[] Wire(string name)
    {
        var m = DnsMessage.CreateQuery(0, name, DnsRecordType.A);
        return m.ToArray()[12..^4];
    }

    private static void AssertSameContent(DnsMessage expected, DnsMessage actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Flags, actual.Flags);
        Assert.Equal(expected.Questions, actual.Questions);
        foreach ((List<DnsResourceRecord> e, List<DnsResourceRecord> a) in new[] { (expected.Answers, actual.Answers), (expected.Authorities, actual.Authorities), (expected.Additionals, actual.Additionals) })
        {
            Assert.Equal(e.Count, a.Count);
            for (int i = 0; i < e.Count; i++)
            {
                Assert.Equal(e[i].Name, a[i].Name);
                Assert.Equal(e[i].Type, a[i].Type);
                Assert.Equal(e[i].Class, a[i].Class);
                Assert.Equal(e[i].TimeToLive, a[i].TimeToLive);
                Assert.Equal(e[i].Data.ToArray(), a[i].Data.ToArray());
            }
        }
    }
}
