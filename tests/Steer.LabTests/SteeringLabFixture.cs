using Steer.Lab;

namespace Steer.LabTests;

/// <summary>
/// A lab with the steering services (<see cref="SteerLabOptions.SteeringServices"/>): a direct path from the client
/// to the internet namespace, dnsmasq serving the lab names, the gateway's DNS forwarder, web servers on 80, 443 and
/// 8080. Skips like <see cref="SteerLabFixture"/> (never on CI); always removes its namespaces.
/// </summary>
public sealed class SteeringLabFixture : IAsyncLifetime
{
    private SteerLab? _lab;

    public string? SkipReason { get; private set; }

    public SteerLab Lab => _lab ?? throw new InvalidOperationException($"The lab is not up: {SkipReason}");

    public void SkipIfUnavailable() => Assert.SkipWhen(SkipReason is not null, $"Lab test skipped: {SkipReason}");

    public async ValueTask InitializeAsync()
    {
        string? reason = LabFixture.GetUnmetPrerequisite() ?? (LabPrerequisites.FindExecutable("dnsmasq") is null ? "dnsmasq is not installed (Debian package dnsmasq-base)" : null);
        if (reason is not null)
        {
            if (LabFixture.IsCI)
            {
                throw new InvalidOperationException($"CI=true, so the steering lab tests must run, but {reason}. Run scripts/install-deps.sh as root.");
            }

            SkipReason = reason;
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        _lab = await SteerLab.StartAsync(
            new SteerLabOptions { Prefix = LabFixture.NewPrefix(), StartIperf3 = false, SteeringServices = true }, cancellationToken: timeout.Token);
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
public sealed class SteeringLabCollection : ICollectionFixture<SteeringLabFixture>
{
    public const string Name = "SteeringLab";
}
