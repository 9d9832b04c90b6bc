using Steer.Lab;

namespace Steer.LabTests;

/// <summary>
/// <c>steer lab demo</c>, the README's first command: it builds its own lab (prefix <c>steer-demo-</c>), steers a
/// request and must exit 0 only when the server saw the gateway — and leave no namespace behind.
/// </summary>
public sealed class DemoTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(null, null)]
    [InlineData("tls", "over tls")]
    public async Task Lab_demo_steers_a_request_through_the_tunnel_and_removes_its_lab(string? transport, string? expected)
    {
        string? unmet = LabFixture.GetUnmetPrerequisite();
        if (unmet is not null && LabFixture.IsCI)
        {
            Assert.Fail($"CI=true, so the lab tests must run, but {unmet}. Run scripts/install-deps.sh as root.");
        }

        Assert.SkipWhen(unmet is not null, $"Lab test skipped: {unmet}");
        SteerExecutable steer = SteerExecutable.Resolve();
        string[] args = transport is null ? ["lab", "demo"] : ["lab", "demo", "--transport", transport];
        LabCommandResult demo = await LabProcess.RunAsync(null, steer.FileName, steer.GetArguments(args), TimeSpan.FromSeconds(120), Ct);
        output.WriteLine(demo.ToString());

        Assert.True(demo.Succeeded, demo.ToString());
        string text = demo.StandardOutput + demo.StandardError;
        Assert.Contains("OK: the server saw the gateway's address", text, StringComparison.Ordinal);
        if (expected is not null)
        {
            Assert.Contains(expected, text, StringComparison.Ordinal);
        }

        Assert.Empty(LabTopology.ListNamespaces("steer-demo-"));
    }
}
