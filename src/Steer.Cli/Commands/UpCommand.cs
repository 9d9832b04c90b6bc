using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Steer.Cli.Control;
using Steer.Configuration;

namespace Steer.Cli.Commands;

/// <summary><c>steer up</c>: connect and steer, in the foreground, until Ctrl-C, SIGTERM or <c>steer down</c>.</summary>
/// <remarks>
/// With <c>-v</c>, the phases of the start are logged at debug level with their time since <c>Main</c> ("Start: …"),
/// <see cref="SteerClient"/> adds its own (leftovers, TLS + handshake, interface and routes, DNS), and the memory is
/// logged when connected, every 10 s and when stopping (<see cref="MemoryReport"/>).
/// </remarks>
internal static partial class UpCommand
{
    private const int MemoryReportSeconds = 10;

    public static Command Create()
    {
        var tenant = new Option<string>("--tenant", "-t") { Description = "Tenant name; its configuration URL is derived from it (see README).", Required = true };
        var configUrl = new Option<string?>("--config-url") { Description = "Fetch the tenant configuration from this HTTPS URL instead of the derived one." };
        var configFile = new Option<string?>("--config") { Description = "Read the tenant configuration from this file instead of fetching it." };
        var configPin = new Option<string?>("--config-pin") { Description = "Accept the configuration server only with this key pin (sha256/...), instead of system trust." };
        var token = new Option<string?>("--token") { Description = "User identity token (default: $STEER_TOKEN)." };
        var tokenFile = new Option<string?>("--token-file") { Description = "Read the user identity token from this file." };
        var deviceId = new Option<string?>("--device-id") { Description = "Device identifier (default: derived from /etc/machine-id)." };
        var iface = new Option<string>("--interface") { Description = "TUN interface name; %d picks a free number.", DefaultValueFactory = _ => "steer%d" };
        var gateway = new Option<string?>("--gateway") { Description = "Use only the gateway with this name." };
        var socket = CommonOptions.ControlSocket("Control socket for 'steer status' and 'steer down'.");
        var interfaceMtu = new Option<int?>("--interface-mtu") { Description = "TUN MTU (default: the session MTU from the gateway); larger values get ICMP too-big answers from Steer." };
        var probeInterval = new Option<double?>("--probe-interval") { Description = "Seconds between datacenter re-probes while connected (default 60)." };
        var dns = new Option<SteerDnsMode>("--dns") { Description = "auto: the OS resolves through Steer's stub while up (mode all or domain rules); off: leave DNS alone.", DefaultValueFactory = _ => SteerDnsMode.Auto };
        var learnedLifetime = new Option<double?>("--learned-route-lifetime") { Description = "Seconds a route learned from a DNS answer lives at least, and after its last use (default 300); it also lives while a connection uses its address." };
        learnedLifetime.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double?>() is double value && !(value > 0 && value <= TimeSpan.MaxValue.TotalSeconds / 2))
            {
                result.AddError($"--learned-route-lifetime must be a positive number of seconds, not {value}.");
            }
        });
        var transport = new Option<SteerTransport>("--transport") { Description = "Data transport: auto (DTLS, TLS fallback), dtls or tls.", DefaultValueFactory = _ => SteerTransport.Auto };

        var command = new Command("up", "Connect to the tenant's gateway and steer traffic, in the foreground.")
        {
            tenant, configUrl, configFile, configPin, token, tokenFile, deviceId, iface, gateway, socket, transport, interfaceMtu, probeInterval, dns, learnedLifetime,
            CommonOptions.StateDirectory, CommonOptions.ResolvConf,
        };
        command.SetAction((parse, _) => CommonOptions.RunAsync(async () =>
        {
            using var shutdown = new ShutdownSignal();
            using ILoggerFactory logging = CliLogging.Create(parse.GetValue(CommonOptions.Verbose));
            ILogger logger = logging.CreateLogger("steer");
            string tenantName = parse.GetValue(tenant)!;
            string? file = parse.GetValue(configFile);
            string? pin = parse.GetValue(configPin);

            // Gateways are always accepted by key pin; the configuration server too when pinned or not used. Then no
            // TLS connection needs the system's root certificates, and loading them was most of the start's time.
            bool systemTrustSkipped = SystemTrustStore.SkipWhenEveryPeerIsPinned(everyPeerPinned: file is not null || pin is not null);
            LogPhase(logger, systemTrustSkipped ? "arguments parsed, logging ready (every TLS peer pinned: system trust store not loaded)" : "arguments parsed, logging ready", StartupClock.SinceMainMs);
            Task prepared = SteerClient.PrepareAsync(); // on the other core while the configuration loads
            TenantConfiguration config = await LoadConfigurationAsync(
                tenantName, file, parse.GetValue(configUrl), pin, shutdown.Token).ConfigureAwait(false);
            LogPhase(logger, "tenant configuration loaded", StartupClock.SinceMainMs);

            await prepared.ConfigureAwait(false);
            var options = new SteerClientOptions
            {
                Configuration = config,
                Token = ResolveToken(parse.GetValue(token), parse.GetValue(tokenFile)),
                DeviceId = parse.GetValue(deviceId) ?? DefaultDeviceId(),
                InterfaceName = parse.GetValue(iface)!,
                Gateway = parse.GetValue(gateway),
                Transport = parse.GetValue(transport),
                InterfaceMtu = parse.GetValue(interfaceMtu),
                ProbeInterval = parse.GetValue(probeInterval) is double seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromSeconds(60),
                Dns = parse.GetValue(dns),
                LearnedRouteLifetime = parse.GetValue(learnedLifetime) is double lifetime ? TimeSpan.FromSeconds(lifetime) : TimeSpan.FromMinutes(5),
                StateDirectory = parse.GetValue(CommonOptions.StateDirectory),
                ResolvConfPath = parse.GetValue(CommonOptions.ResolvConf)!,
            };
            await using var client = new SteerClient(options, logging.CreateLogger<SteerClient>());
            string socketPath = parse.GetValue(socket)!;
            await using ControlServer control = ControlServer.Start(socketPath, command => command switch
            {
                "status" => JsonSerializer.Serialize(client.Status, CliJsonContext.Default.SteerStatus),
                "down" => Down(shutdown),
                _ => null,
            }, logger);

            var statusLine = new StatusLine();
            client.StatusChanged += (_, status) => statusLine.OnChange(status);
            LogPhase(logger, "client created, control socket listening", StartupClock.SinceMainMs);
            try
            {
                await client.StartAsync(shutdown.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
            {
                return ExitCodes.Ok;
            }

            LogPhase(logger, "connected", StartupClock.SinceMainMs);
            MemoryReport.Log(logger, "connected");
            using var ticker = new PeriodicTimer(TimeSpan.FromSeconds(1));
            int ticks = 0;
            try
            {
                while (!client.Completion.IsCompleted && await ticker.WaitForNextTickAsync(shutdown.Token).ConfigureAwait(false))
                {
                    statusLine.Tick(client.Status);
                    if (++ticks % MemoryReportSeconds == 0)
                    {
                        MemoryReport.Log(logger, "running");
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            statusLine.Clear();
            MemoryReport.Log(logger, "stopping");
            await client.StopAsync(CancellationToken.None).ConfigureAwait(false);
            SteerStatus final = client.Status;
            Console.Error.WriteLine(
                $"steer: stopped{(shutdown.Received is { } s ? $" on {s}" : "")}; routes, rules, DNS and interface restored. " +
                $"Sent {final.PacketsSent} packets / {final.BytesSent} bytes, received {final.PacketsReceived} / {final.BytesReceived}.");
            if (client.Completion.IsFaulted)
            {
                throw client.Completion.Exception!.InnerException!;
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Down(ShutdownSignal shutdown)
    {
        shutdown.Trigger();
        return "{\"ok\":true,\"message\":\"stopping\"}";
    }

    internal static async Task<TenantConfiguration> LoadConfigurationAsync(string tenant, string? file, string? url, string? pin, CancellationToken ct)
    {
        if (file is not null && url is not null)
        {
            throw new CliException("Use either --config FILE or --config-url URL, not both.", ExitCodes.Configuration);
        }

        if (url is not null && !Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            throw new CliException($"--config-url '{url}' is not an absolute URL such as https://config.example/v1/tenant.json.", ExitCodes.Configuration);
        }

        // Every loader checks that the document is for the tenant the user asked for.
        return file is not null
            ? await TenantConfigurationLoader.LoadFileAsync(file, tenant, ct).ConfigureAwait(false)
            : await TenantConfigurationLoader.LoadUrlAsync(url is not null ? new Uri(url) : TenantConfigurationLoader.DeriveUrl(tenant), pin, tenant, ct).ConfigureAwait(false);
    }

    private static string ResolveToken(string? token, string? tokenFile)
    {
        if (token is not null)
        {
            return token;
        }

        if (tokenFile is not null)
        {
            try
            {
                return File.ReadAllText(tokenFile).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"Cannot read --token-file {tokenFile}: {ex.Message}", ExitCodes.Configuration);
            }
        }

        return Environment.GetEnvironmentVariable("STEER_TOKEN") is { Length: > 0 } env
            ? env
            : throw new CliException("No token: pass --token, --token-file or set STEER_TOKEN (a gateway admin issues one with 'steer gateway issue-token').", ExitCodes.Configuration);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Start: {Phase} at +{SinceMainMs:0.0} ms after Main")]
    private static partial void LogPhase(ILogger logger, string phase, double sinceMainMs);

    private static string DefaultDeviceId()
    {
        string seed = File.Exists("/etc/machine-id") ? File.ReadAllText("/etc/machine-id").Trim() : Environment.MachineName;
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("steer-device:" + seed)).AsSpan(0, 16));
    }
}
