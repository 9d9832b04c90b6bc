using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Steer.Cli.Control;
using Steer.Gateway;
using Steer.Security;

namespace Steer.Cli.Commands;

/// <summary><c>steer gateway</c>: run the reference gateway, create its files, issue tokens, show its status.</summary>
internal static class GatewayCommand
{
    private const string DefaultSocket = "/run/steer/gateway.sock";

    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "Gateway configuration file (JSON), e.g. from 'steer gateway init'." };
        var socket = new Option<string>("--control-socket") { Description = "Control socket for 'steer gateway status'.", DefaultValueFactory = _ => DefaultSocket };
        var command = new Command("gateway", "Run Steer's reference gateway (datacenter), or manage it with the subcommands.") { config, socket };
        command.SetAction((parse, _) => CommonOptions.RunAsync(async () =>
        {
            string path = parse.GetValue(config) ?? throw new CliException("steer gateway needs --config FILE (create one with 'steer gateway init').", ExitCodes.Configuration);
            using var shutdown = new ShutdownSignal();
            using ILoggerFactory logging = CliLogging.Create(parse.GetValue(CommonOptions.Verbose));
            GatewayOptions options = GatewayOptions.Load(path);
            await using var server = new GatewayServer(options, logging.CreateLogger<GatewayServer>());
            await using ControlServer control = ControlServer.Start(parse.GetValue(socket)!, cmd => cmd switch
            {
                "status" => JsonSerializer.Serialize(server.GetStatus(), CliJsonContext.Default.GatewayStatus),
                "down" => Stop(shutdown),
                _ => null,
            }, logging.CreateLogger("steer"));
            await server.RunAsync(shutdown.Token).ConfigureAwait(false);
            Console.Error.WriteLine("steer gateway: stopped; NAT rules, TUN and forwarding settings restored.");
            return ExitCodes.Ok;
        }));
        command.Subcommands.Add(CreateInit());
        command.Subcommands.Add(CreateIssueToken());
        command.Subcommands.Add(CreateStatus());
        return command;
    }

    private static string Stop(ShutdownSignal shutdown)
    {
        shutdown.Trigger();
        return "{\"ok\":true}";
    }

    private static Command CreateInit()
    {
        var dir = new Option<string>("--dir") { Description = "Folder to write the gateway's files into.", Required = true };
        var tenant = new Option<string>("--tenant") { Description = "Tenant served by this gateway.", Required = true };
        var name = new Option<string>("--name") { Description = "Gateway (datacenter) name.", DefaultValueFactory = _ => "gw-1" };
        var address = new Option<string>("--address") { Description = "Address clients use to reach the gateway (goes into tenant.json and the certificate).", Required = true };
        var port = new Option<int>("--port") { Description = "TLS port.", DefaultValueFactory = _ => 443 };
        var ipv4Pool = new Option<string>("--ipv4-pool") { Description = "Inner IPv4 pool.", DefaultValueFactory = _ => "100.64.0.0/24" };
        var ipv6Pool = new Option<string?>("--ipv6-pool") { Description = "Inner IPv6 pool ('none' for IPv4 only).", DefaultValueFactory = _ => "fd53:7ee7:ff::/64" };
        var configServer = new Option<string?>("--config-server") { Description = "Also serve tenant.json over HTTPS on this endpoint (lab), e.g. 0.0.0.0:8443." };
        var include = new Option<string[]>("--include") { Description = "Steered CIDRs for tenant.json (default: everything).", AllowMultipleArgumentsPerToken = true };
        var dnsUpstream = new Option<string?>("--dns-upstream") { Description = "Run the gateway's DNS forwarder (on its inner address) relaying to this server, e.g. 192.0.2.53." };
        var force = new Option<bool>("--force") { Description = "Overwrite existing files." };
        var command = new Command("init", "Create a gateway's certificate, token keys, gateway.json and the tenant.json clients use.")
        {
            dir, tenant, name, address, port, ipv4Pool, ipv6Pool, configServer, include, dnsUpstream, force,
        };
        command.SetAction((parse, ct) => CommonOptions.RunAsync(async () =>
        {
            string folder = Path.GetFullPath(parse.GetValue(dir)!);
            Directory.CreateDirectory(folder);
            bool overwrite = parse.GetValue(force);
            string gatewayAddress = parse.GetValue(address)!;
            string gatewayName = parse.GetValue(name)!;
            int tlsPort = parse.GetValue(port);
            string? v6 = parse.GetValue(ipv6Pool) is "none" ? null : parse.GetValue(ipv6Pool);

            using X509Certificate2 certificate = GatewayIdentity.CreateSelfSigned(gatewayName, [gatewayAddress]);
            await GatewayIdentity.SavePemFilesAsync(certificate, Path.Combine(folder, "gateway.crt"), Path.Combine(folder, "gateway.key"), overwrite, ct).ConfigureAwait(false);
            using ECDsa signing = TokenSigningKey.Create();
            WriteSecret(Path.Combine(folder, "token-signing.key"), TokenSigningKey.ExportPrivateKeyPem(signing), overwrite);
            WriteFile(Path.Combine(folder, "token-signing.pub"), TokenSigningKey.ExportPublicKeyPem(signing), overwrite);

            var options = new GatewayOptions
            {
                Name = gatewayName,
                Tenant = parse.GetValue(tenant)!,
                Listen = $"[::]:{tlsPort}",
                Ipv4Pool = parse.GetValue(ipv4Pool)!,
                Ipv6Pool = v6,
                DnsServers = [],
                DnsUpstream = parse.GetValue(dnsUpstream),
                ConfigServer = parse.GetValue(configServer) is { } cs ? new ConfigServerOptions { Listen = cs, File = "tenant.json" } : null,
            };
            options.Validate("steer gateway init");
            WriteFile(Path.Combine(folder, "gateway.json"), JsonSerializer.Serialize(options, GatewayJsonContext.Default.GatewayOptions), overwrite);

            string pin = CertificatePin.Compute(certificate);
            string[] includes = parse.GetValue(include) is { Length: > 0 } given ? given : ["0.0.0.0/0", "::/0"];
            WriteFile(Path.Combine(folder, "tenant.json"), TenantDocument(options.Tenant, gatewayName, gatewayAddress, tlsPort, pin, includes), overwrite);
            Console.WriteLine($"Wrote gateway files to {folder}: gateway.json, gateway.crt, gateway.key, token-signing.key, token-signing.pub, tenant.json");
            Console.WriteLine($"Gateway key pin: {pin}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command CreateIssueToken()
    {
        var config = new Option<string>("--config", "-c") { Description = "Gateway configuration file (its tokenSigningKey signs).", Required = true };
        var user = new Option<string>("--user") { Description = "User identity to put in the token.", Required = true };
        var hours = new Option<double>("--hours") { Description = "Token lifetime in hours.", DefaultValueFactory = _ => 24 };
        var command = new Command("issue-token", "Issue a signed user token that this gateway accepts (prints it on stdout).") { config, user, hours };
        command.SetAction((parse, _) => CommonOptions.RunAsync(() =>
        {
            GatewayOptions options = GatewayOptions.Load(parse.GetValue(config)!);
            string keyPath = options.Resolve(options.TokenSigningKey ?? throw new CliException("gateway.json has no tokenSigningKey.", ExitCodes.Configuration));
            string pem;
            try
            {
                pem = File.ReadAllText(keyPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"Cannot read the token signing key {keyPath}: {ex.Message}", ExitCodes.Configuration);
            }

            using ECDsa key = TokenSigningKey.ImportPrivateKeyPem(pem);
            double lifetime = parse.GetValue(hours);
            if (lifetime is <= 0 or > 24 * 366)
            {
                throw new CliException("--hours must be between 0 and 8784.", ExitCodes.Configuration);
            }

            Console.WriteLine(new TokenIssuer(key).Issue(options.Tenant, parse.GetValue(user)!, TimeSpan.FromHours(lifetime)));
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }

    private static Command CreateStatus()
    {
        var socket = new Option<string>("--control-socket") { Description = "Control socket of the running gateway.", DefaultValueFactory = _ => DefaultSocket };
        var command = new Command("status", "Show the running gateway's sessions and counters.") { socket, CommonOptions.Json };
        command.SetAction((parse, ct) => CommonOptions.RunAsync(async () =>
        {
            string json = await ControlClient.SendAsync(parse.GetValue(socket)!, "status", ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                Console.WriteLine(json);
                return ExitCodes.Ok;
            }

            GatewayStatus s = JsonSerializer.Deserialize(json, CliJsonContext.Default.GatewayStatus)!;
            Console.WriteLine($"gateway {s.Name} (tenant {s.Tenant}) on {s.Interface}: {s.Sessions.Count} sessions, {s.SessionsAccepted} accepted, {s.AuthenticationFailures} refused");
            Console.WriteLine($"packets: to tun {s.PacketsToTun}, from tun {s.PacketsFromTun}; dropped: spoofed {s.SpoofedDropped}, no session {s.NoSessionDropped}, malformed {s.MalformedDropped}");
            Console.WriteLine($"udp: {s.UdpDatagrams} datagrams ({s.UdpGroDatagrams} GRO-coalesced), {s.UdpDropped} dropped before a session; DTLS records dropped: garbage {s.DtlsGarbageDropped}, replayed {s.DtlsReplayedDropped}, failed authentication {s.DtlsRejectedDropped}");
            foreach (GatewaySessionInfo session in s.Sessions)
            {
                Console.WriteLine($"  {session.Id} {session.User} {session.Remote} {session.IPv4} {session.IPv6} rx {session.PacketsReceived} tx {session.PacketsSent} ({session.TunMergedPackets} rx merged on the TUN)");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string TenantDocument(string tenant, string name, string address, int port, string pin, string[] includes)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", 1);
            json.WriteString("tenant", tenant);
            json.WriteStartArray("gateways");
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("address", address);
            json.WriteNumber("port", port);
            json.WriteStartArray("pins");
            json.WriteStringValue(pin);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteStartObject("steering");
            json.WriteString("mode", "all");
            json.WriteStartArray("includeCidrs");
            foreach (string cidr in includes)
            {
                json.WriteStringValue(cidr);
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteString("failMode", "open");
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteFile(string path, string content, bool overwrite)
    {
        if (File.Exists(path) && !overwrite)
        {
            throw new CliException($"{path} exists; pass --force to overwrite.", ExitCodes.Configuration);
        }

        File.WriteAllText(path, content);
    }

    private static void WriteSecret(string path, string content, bool overwrite)
    {
        WriteFile(path, content, overwrite);
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
