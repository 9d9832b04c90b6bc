using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Steer.Configuration;
using Steer.Policy;

namespace Steer.Cli.Commands;

/// <summary><c>steer policy explain</c>: which rule decides where a destination goes, and why.</summary>
internal static class PolicyCommand
{
    public static Command Create()
    {
        var command = new Command("policy", "Inspect the tenant's steering policy.");
        command.Subcommands.Add(CreateExplain());
        return command;
    }

    private static Command CreateExplain()
    {
        var target = new Argument<string>("target") { Description = "host, IP, host:port, IP:port or [IPv6]:port." };
        var tenant = new Option<string>("--tenant", "-t") { Description = "Tenant name; its configuration URL is derived from it.", Required = true };
        var configUrl = new Option<string?>("--config-url") { Description = "Fetch the tenant configuration from this HTTPS URL." };
        var configFile = new Option<string?>("--config") { Description = "Read the tenant configuration from this file." };
        var configPin = new Option<string?>("--config-pin") { Description = "Key pin of the configuration server (sha256/...)." };
        var protocol = new Option<string>("--protocol", "-p") { Description = "tcp or udp (with a port).", DefaultValueFactory = _ => "tcp" };
        var command = new Command("explain", "Say which rule decides where traffic to a host or address goes (tunnel or direct).")
        {
            target, tenant, configUrl, configFile, configPin, protocol,
        };
        command.SetAction((parse, ct) => CommonOptions.RunAsync(async () =>
        {
            TenantConfiguration config = await UpCommand.LoadConfigurationAsync(
                parse.GetValue(tenant)!, parse.GetValue(configFile), parse.GetValue(configUrl), parse.GetValue(configPin), ct).ConfigureAwait(false);
            (string host, int port) = ParseTarget(parse.GetValue(target)!);
            int proto = parse.GetValue(protocol) switch
            {
                "tcp" => PolicyRule.Tcp,
                "udp" => PolicyRule.Udp,
                var other => throw new CliException($"--protocol must be tcp or udp, not '{other}'.", ExitCodes.Configuration),
            };
            if (port < 0)
            {
                proto = 0;
            }

            SteeringPolicy policy = SteerClient.CreatePolicy(config);
            string what = port < 0 ? host : $"{host}:{port.ToString(CultureInfo.InvariantCulture)}/{(proto == PolicyRule.Tcp ? "tcp" : "udp")}";
            Console.WriteLine($"policy: mode {policy.Mode.ToString().ToLowerInvariant()}, {policy.Rules.Count} rule(s)");
            if (IPAddress.TryParse(host, out IPAddress? address))
            {
                Console.WriteLine($"{what}: {policy.Decide(address, proto, port)}");
                return ExitCodes.Ok;
            }

            if (policy.TryDecideName(host, proto, port, out PolicyDecision byName))
            {
                Console.WriteLine($"{what}: {byName} — by name, for every address it resolves to");
                return ExitCodes.Ok;
            }

            Console.WriteLine($"{what}: no domain rule matches the name; by address:");
            IPAddress[] addresses;
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new CliException($"Cannot resolve '{host}' ({ex.Message}); give an IP address instead.", ExitCodes.Network);
            }

            foreach (IPAddress resolved in addresses)
            {
                Console.WriteLine($"  {resolved}: {policy.Decide(resolved, proto, port)}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>host | IP | host:port | IPv4:port | [IPv6]:port | IPv6 (no port).</summary>
    internal static (string Host, int Port) ParseTarget(string text)
    {
        if (IPAddress.TryParse(text, out IPAddress? plain) && !text.StartsWith('['))
        {
            return (plain.ToString(), -1);
        }

        int colon = text.LastIndexOf(':');
        string host = text;
        int port = -1;
        if (colon > 0)
        {
            string portText = text[(colon + 1)..];
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                throw new CliException($"'{text}': the port must be 1-65535, not '{portText}'.", ExitCodes.Configuration);
            }

            host = text[..colon];
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (host.Length == 0)
        {
            throw new CliException($"'{text}' has no host.", ExitCodes.Configuration);
        }

        return (host, port);
    }
}
