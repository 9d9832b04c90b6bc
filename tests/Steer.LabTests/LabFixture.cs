using System.Globalization;
using Steer.Lab;
using Xunit;

namespace Steer.LabTests;

/// <summary>
/// Creates one lab (three network namespaces with a unique prefix, <c>steer-t&lt;pid&gt;-&lt;n&gt;-</c>) for the tests of
/// the <see cref="LabFixtureCollection"/> and removes it afterwards.
/// </summary>
/// <remarks>
/// Without root, <c>ip</c> or <c>/dev/net/tun</c> the fixture records <see cref="SkipReason"/> and every test calls
/// <see cref="SkipIfUnavailable"/>; but with <c>CI=true</c> a missing prerequisite fails the tests instead, so CI
/// cannot pass by skipping them.
/// </remarks>
public sealed class LabFixture : IAsyncLifetime
{
    /// <summary>Start of the prefixes of test labs; the process id follows, so stale labs of dead runs can be found.</summary>
    public const string TestPrefixStart = "steer-t";

    private static readonly TimeSpan s_createTimeout = TimeSpan.FromSeconds(60);
    private static int s_counter;

    private LabTopology? _topology;

    public LabFixture()
    {
        Prefix = NewPrefix();
    }

    /// <summary>True when the environment variable CI is <c>true</c> (or <c>1</c>): missing prerequisites then fail.</summary>
    public static bool IsCI
        => Environment.GetEnvironmentVariable("CI") is { } ci &&
           (ci.Equals("true", StringComparison.OrdinalIgnoreCase) || ci == "1");

    /// <summary>The prefix of this fixture's lab.</summary>
    public string Prefix { get; }

    /// <summary>Why the lab tests are skipped here, or <see langword="null"/> when the lab is up.</summary>
    public string? SkipReason { get; private set; }

    /// <summary>The lab. Call <see cref="SkipIfUnavailable"/> first.</summary>
    public LabTopology Lab => _topology ?? throw new InvalidOperationException($"The lab is not up: {SkipReason}");

    /// <summary>A fresh unique prefix for a test that needs its own lab: <c>steer-t&lt;pid&gt;-&lt;n&gt;-</c>.</summary>
    public static string NewPrefix()
        => string.Create(
            CultureInfo.InvariantCulture,
            $"{TestPrefixStart}{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}-");

    /// <summary>
    /// Returns why the lab cannot run here (not root, no <c>ip</c>, no <c>/dev/net/tun</c>), or <see langword="null"/>.
    /// </summary>
    public static string? GetUnmetPrerequisite() => LabPrerequisites.GetUnmetReason(requireTun: true);

    /// <summary>Skips the calling test, with the reason, when the lab could not be created here.</summary>
    public void SkipIfUnavailable() => Assert.SkipWhen(SkipReason is not null, $"Lab test skipped: {SkipReason}");

    public async ValueTask InitializeAsync()
    {
        string? reason = GetUnmetPrerequisite();
        if (reason is not null)
        {
            if (IsCI)
            {
                throw new InvalidOperationException(
                    $"CI=true, so the lab tests must run, but {reason}. Run scripts/install-deps.sh as root.");
            }

            SkipReason = reason;
            return;
        }

        await RemoveLabsOfDeadTestRunsAsync();
        using var timeout = new CancellationTokenSource(s_createTimeout);
        _topology = await LabTopology.CreateAsync(new LabTopologyOptions { Prefix = Prefix }, cancellationToken: timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (_topology is not null)
        {
            await _topology.DisposeAsync();
        }
    }

    /// <summary>Removes test labs (<c>steer-t&lt;pid&gt;-…</c>) whose process no longer exists: left by a crashed run.</summary>
    private static async Task RemoveLabsOfDeadTestRunsAsync()
    {
        string[] suffixes = [LabNames.ClientSuffix, LabNames.GatewaySuffix, LabNames.InetSuffix];
        var stalePrefixes = new HashSet<string>(StringComparer.Ordinal);
        foreach (string ns in LabTopology.ListNamespaces(TestPrefixStart))
        {
            string rest = ns[TestPrefixStart.Length..];
            int dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 ||
                !int.TryParse(rest.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ||
                Directory.Exists($"/proc/{pid}"))
            {
                continue;
            }

            foreach (string suffix in suffixes)
            {
                if (ns.EndsWith(suffix, StringComparison.Ordinal))
                {
                    stalePrefixes.Add(ns[..^suffix.Length]);
                }
            }
        }

        foreach (string prefix in stalePrefixes)
        {
            await LabTopology.CleanupStaleAsync(prefix);
        }
    }
}
