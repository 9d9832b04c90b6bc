using System.CommandLine;
using Steer.Configuration;
using Steer.Selection;

namespace Steer.Cli.Commands;

/// <summary><c>steer probe</c>: measure every datacenter of a tenant and say which one Steer would choose, and why.</summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var tenant = new Option<string>("--tenant", "-t") { Description = "Tenant name.", Required = true };
        var configUrl = new Option<string?>("--config-url") { Description = "Tenant configuration URL (instead of the derived one)." };
        var configFile = new Option<string?>("--config") { Description = "Tenant configuration file." };
        var configPin = new Option<string?>("--config-pin") { Description = "Key pin of the configuration server." };
        var samples = new Option<int>("--samples") { Description = "Probes per datacenter.", DefaultValueFactory = _ => 5 };
        var command = new Command("probe", "Probe every datacenter of the tenant: RTT min/median, loss, state, and the choice with its reason.")
        {
            tenant, configUrl, configFile, configPin, samples, CommonOptions.Json,
        };
        command.SetAction((parse, ct) => CommonOptions.RunAsync(async () =>
        {
            TenantConfiguration config = await UpCommand.LoadConfigurationAsync(
                parse.GetValue(tenant)!, parse.GetValue(configFile), parse.GetValue(configUrl), parse.GetValue(configPin), ct).ConfigureAwait(false);
            int count = parse.GetValue(samples);
            if (count is < 1 or > 100)
            {
                throw new CliException("--samples must be between 1 and 100.", ExitCodes.Configuration);
            }

            var prober = new DatacenterProber(new DatacenterProberOptions { SamplesPerGateway = count, EarlyDecision = false });
            ProbeRound round = await prober.ProbeAsync(config.Gateways, null, ct).ConfigureAwait(false);
            SelectionDecision decision = new DatacenterSelector().Select(prober.History.GetStats(config.Gateways), null);
            ProbeReport report = await VerifyPinsAsync(ProbeReport.Create(round, decision, config.Tenant), config, ct).ConfigureAwait(false);
            Console.WriteLine(parse.GetValue(CommonOptions.Json) ? report.ToJson(indented: true) : ProbeReportFormatter.FormatTable(report));
            return report.Chosen is null ? ExitCodes.Network : ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// A UDP echo proves reachability, not identity: complete a pinned TLS handshake with every datacenter that
    /// answered, rule out those whose key is not pinned, and re-choose among the rest if needed.
    /// </summary>
    private static async Task<ProbeReport> VerifyPinsAsync(ProbeReport report, TenantConfiguration config, CancellationToken ct)
    {
        var checkedReports = new List<DatacenterReport>();
        foreach (DatacenterReport dc in report.Datacenters)
        {
            GatewayEndpoint gateway = config.Gateways.First(g => g.Name == dc.Name);
            string? mismatch = dc.State is "ok" or "slow" ? await CheckPinAsync(gateway, ct).ConfigureAwait(false) : null;
            checkedReports.Add(mismatch is null ? dc : dc with { State = "wrong-pin", Reason = mismatch, Chosen = false });
        }

        DatacenterReport? chosen = checkedReports.FirstOrDefault(d => d.Chosen)
            ?? checkedReports.Where(d => d.State is "ok" && d.RttMinMs is not null).OrderBy(d => d.RttMinMs).FirstOrDefault();
        return report with
        {
            Datacenters = checkedReports.Select(d => d with { Chosen = d == chosen }).ToArray(),
            Chosen = chosen?.Name,
            Reason = chosen is null ? "no datacenter is usable" : chosen.Name == report.Chosen ? report.Reason : $"{chosen.Name}: fastest with a valid key pin",
        };
    }

    private static async Task<string?> CheckPinAsync(GatewayEndpoint gateway, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(gateway.Address, gateway.Port, timeout.Token).ConfigureAwait(false);
            var pins = new Steer.Security.PinValidator(gateway.Pins);
            await using var ssl = new System.Net.Security.SslStream(tcp.GetStream());
            try
            {
                await ssl.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
                {
                    TargetHost = string.Empty,
                    RemoteCertificateValidationCallback = pins.CreateCallback(),
                    ApplicationProtocols = [new System.Net.Security.SslApplicationProtocol("steer/1")],
                }, timeout.Token).ConfigureAwait(false);
            }
            catch (System.Security.Authentication.AuthenticationException ex) when (pins.IsMismatch && pins.PresentedPin is not null)
            {
                return Steer.Security.PinMismatchException.ForGateway(gateway, pins.PresentedPin, ex).Message;
            }

            return null;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            return null; // Reachability is the UDP probe's verdict; only a pin mismatch overrides it here.
        }
    }
}
