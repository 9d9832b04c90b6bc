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

            // A UDP echo proves reachability, not identity: VerifyPins completes a pinned TLS handshake as well.
            var prober = new DatacenterProber(new DatacenterProberOptions { SamplesPerGateway = count, EarlyDecision = false, VerifyPins = true });
            ProbeRound round = await prober.ProbeAsync(config.Gateways, null, ct).ConfigureAwait(false);
            SelectionDecision decision = new DatacenterSelector(new DatacenterSelectorOptions { Priority = g => g.Priority })
                .Select(prober.History.GetStats(config.Gateways), null);
            ProbeReport report = ProbeReport.Create(round, decision, config.Tenant);
            Console.WriteLine(parse.GetValue(CommonOptions.Json) ? report.ToJson(indented: true) : ProbeReportFormatter.FormatTable(report));
            return report.Chosen is null ? ExitCodes.Network : ExitCodes.Ok;
        }));
        return command;
    }
}
