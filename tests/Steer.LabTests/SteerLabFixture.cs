using Steer.Lab;

namespace Steer.LabTests;

/// <summary>
/// One complete lab — namespaces, a real <c>steer gateway</c> with NAT, the web server — shared by the
/// <see cref="SteerLabCollection"/>. Skips with the reason when the machine cannot run it, except with CI=true,
/// where a missing prerequisite fails instead. Always removes its namespaces.
/// </summary>
public sealed class SteerLabFixture : IAsyncLifetime
{
    private SteerLab? _lab;

    public string? SkipReason { get; private set; }

    public SteerLab Lab => _lab ?? throw new InvalidOperationException($"The lab is not up: {SkipReason}");

    public void SkipIfUnavailable() => Assert.SkipWhen(SkipReason is not null, $"Lab test skipped: {SkipReason}");

    public async ValueTask InitializeAsync()
    {
        string? reason = LabFixture.GetUnmetPrerequisite();
        if (reason is not null)
        {
            if (LabFixture.IsCI)
            {
                throw new InvalidOperationException($"CI=true, so the lab tests must run, but {reason}. Run scripts/install-deps.sh as root.");
            }

            SkipReason = reason;
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        _lab = await SteerLab.StartAsync(new SteerLabOptions { Prefix = LabFixture.NewPrefix(), StartIperf3 = false }, cancellationToken: timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (_lab is not null)
        {
            await _lab.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SteerLabCollection : ICollectionFixture<SteerLabFixture>
{
    public const string Name = "SteerLab";
}
