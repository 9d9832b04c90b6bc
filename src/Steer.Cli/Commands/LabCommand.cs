using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Steer.Lab;

namespace Steer.Cli.Commands;

/// <summary>
/// <c>steer lab</c>: Steer's embedded default — a complete lab in network namespaces (client, gateway, internet)
/// with a real gateway, a web server and Steer itself.
/// </summary>
internal static class LabCommand
{
    private const string DemoPrefix = "steer-demo-";

    /// <summary>The lab client's data transport, passed on to its <c>steer up</c>.</summary>
    private static readonly Option<SteerTransport> s_transport = new("--transport")
    {
        Description = "The lab client's data transport: auto (DTLS, TLS fallback), dtls or tls.",
        DefaultValueFactory = _ => SteerTransport.Auto,
    };

    private static string[] ClientArguments(ParseResult parse)
        => ["--transport", parse.GetValue(s_transport).ToString().ToLowerInvariant()];

    public static Command Create()
    {
        var command = new Command("lab", "Run Steer's self-contained lab in network namespaces (Linux, root).");
        command.Subcommands.Add(CreateDemo());
        command.Subcommands.Add(CreateUp());
        command.Subcommands.Add(CreateDown());
        command.Subcommands.Add(CreateHttpServer());
        command.Subcommands.Add(CreateRelay());
        return command;
    }

    private static Command CreateDemo()
    {
        var command = new Command("demo", "Build the lab, steer a request through the tunnel, show who the server saw, tear it all down. Exit 0 only if the request went through the tunnel.")
        {
            s_transport,
        };
        command.SetAction((parse, _) => CommonOptions.RunAsync(async () =>
        {
            using var shutdown = new ShutdownSignal();
            using ILoggerFactory logging = CliLogging.Create(parse.GetValue(CommonOptions.Verbose));
            CancellationToken ct = shutdown.Token;
            await LabTopology.CleanupStaleAsync(DemoPrefix, logging.CreateLogger("lab"), ct).ConfigureAwait(false);
            Say("building the lab: namespaces steer-demo-client / -gw / -inet joined by veth pairs");
            await using SteerLab lab = await SteerLab.StartAsync(
                new SteerLabOptions { Prefix = DemoPrefix, Verbose = parse.GetValue(CommonOptions.Verbose) }, logging, ct).ConfigureAwait(false);
            LabTopology t = lab.Topology;
            Say($"client {t.ClientAddress} -- gateway {t.GatewayAddress} | {t.GatewayInetAddress} -- internet {t.InetAddress}");
            Say($"gateway 'lab-gw' is up; its key pin is {lab.GatewayPin}");

            LabCommandResult direct = await lab.CurlFromClientAsync(lab.WhoAmIUrl, TimeSpan.FromSeconds(3), ct).ConfigureAwait(false);
            Say($"without Steer, the client cannot reach {t.InetAddress}: curl exit {direct.ExitCode} ({FirstLine(direct.StandardError)})");

            var clock = Stopwatch.StartNew();
            LabProcess client = lab.StartClient("client", null, ClientArguments(parse));
            await lab.WaitForClientStateAsync(client, "connected", ct).ConfigureAwait(false);
            TimeSpan upTime = clock.Elapsed;
            LabCommandResult whoami = await lab.CurlFromClientAsync(lab.WhoAmIUrl, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
            TimeSpan firstResponse = clock.Elapsed;
            string answer = whoami.StandardOutput.Trim();
            Say($"steer up: tunnel connected after {upTime.TotalMilliseconds:0} ms (process start included), first HTTP answer after {firstResponse.TotalMilliseconds:0} ms");
            Say($"GET {lab.WhoAmIUrl} from the client namespace -> \"{answer}\"");

            JsonElement status = await lab.ClientStatusAsync(cancellationToken: ct).ConfigureAwait(false);
            JsonElement gateway = await lab.GatewayStatusAsync(ct).ConfigureAwait(false);
            Say($"client status: {status.GetProperty("state").GetString()} via {status.GetProperty("gateway").GetString()} over {status.GetProperty("transport").GetString()}, " +
                $"interface {status.GetProperty("interface").GetString()} {status.GetProperty("innerIPv4").GetString()}, sent {status.GetProperty("packetsSent").GetInt64()} packets");
            Say($"gateway status: {gateway.GetProperty("sessions").GetArrayLength()} session(s), {gateway.GetProperty("packetsToTun").GetInt64()} packets from clients forwarded");

            bool steered = whoami.Succeeded && answer == $"you are {t.GatewayInetAddress}" && !direct.Succeeded;
            client.Terminate();
            await client.WaitForExitAsync(TimeSpan.FromSeconds(15), ct).ConfigureAwait(false);
            Say(steered
                ? $"OK: the server saw the gateway's address {t.GatewayInetAddress}, not the client's {t.ClientAddress}: traffic was steered through the tunnel."
                : $"FAILED: expected \"you are {t.GatewayInetAddress}\" through the tunnel; curl exit {whoami.ExitCode}: {FirstLine(whoami.StandardError)}");
            Say("tearing the lab down");
            return steered ? ExitCodes.Ok : ExitCodes.Error;
        }));
        return command;
    }

    private static Command CreateUp()
    {
        var command = new Command("up", "Build the lab with namespaces steer-client / steer-gw / steer-inet and run the gateway, servers and a Steer client until Ctrl-C.")
        {
            s_transport,
        };
        command.SetAction((parse, _) => CommonOptions.RunAsync(async () =>
        {
            using var shutdown = new ShutdownSignal();
            using ILoggerFactory logging = CliLogging.Create(parse.GetValue(CommonOptions.Verbose));
            await using SteerLab lab = await SteerLab.StartAsync(new SteerLabOptions(), logging, shutdown.Token).ConfigureAwait(false);
            LabProcess client = lab.StartClient("client", null, ClientArguments(parse));
            await lab.WaitForClientStateAsync(client, "connected", shutdown.Token).ConfigureAwait(false);
            LabTopology t = lab.Topology;
            Say($"lab is up. Try: ip netns exec {t.ClientNamespace} curl {lab.WhoAmIUrl}");
            Say($"     status: steer status --control-socket {lab.ClientSocket()}   gateway: steer gateway status --control-socket {lab.GatewaySocket}");
            Say($"     iperf3: ip netns exec {t.ClientNamespace} iperf3 -c {t.InetAddress}");
            Say("Ctrl-C (or 'steer lab down' from another shell) tears it down.");
            try
            {
                await Task.Delay(Timeout.Infinite, shutdown.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            Say("tearing the lab down");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command CreateDown()
    {
        var command = new Command("down", "Remove lab namespaces (steer-client/-gw/-inet and steer-demo-*) and the processes in them.");
        command.SetAction((parse, ct) => CommonOptions.RunAsync(async () =>
        {
            using ILoggerFactory logging = CliLogging.Create(parse.GetValue(CommonOptions.Verbose));
            int removed = 0;
            foreach (string prefix in new[] { LabNames.DefaultPrefix + "client", LabNames.DefaultPrefix + "gw", LabNames.DefaultPrefix + "inet", DemoPrefix })
            {
                removed += await LabTopology.CleanupStaleAsync(prefix, logging.CreateLogger("lab"), ct).ConfigureAwait(false);
            }

            Say($"removed {removed} namespace(s)");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command CreateHttpServer()
    {
        var bind = new Option<string>("--bind") { Description = "Address to listen on.", DefaultValueFactory = _ => "0.0.0.0" };
        var port = new Option<int>("--port") { Description = "Port.", DefaultValueFactory = _ => 80 };
        var command = new Command("http-server", "Lab web server: GET /whoami answers with the caller's address; GET /bytes?n=N sends N bytes.")
        {
            bind, port,
        };
        command.Hidden = true;
        command.SetAction((parse, _) => CommonOptions.RunAsync(async () =>
        {
            using var shutdown = new ShutdownSignal();
            using ILoggerFactory logging = CliLogging.Create(parse.GetValue(CommonOptions.Verbose));
            if (!IPAddress.TryParse(parse.GetValue(bind), out IPAddress? address))
            {
                throw new CliException($"--bind '{parse.GetValue(bind)}' is not an IP address.", ExitCodes.Configuration);
            }

            await WhoAmIServer.RunAsync(address, parse.GetValue(port), logging.CreateLogger("http"), shutdown.Token).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command CreateRelay()
    {
        var listen = new Option<string>("--listen") { Description = "Address:port to listen on (TCP and UDP).", Required = true };
        var target = new Option<string>("--target") { Description = "Address:port to forward to.", Required = true };
        var delay = new Option<int>("--delay-ms") { Description = "One-way delay added in each direction, in ms." };
        var delayFile = new Option<string?>("--delay-file") { Description = "Read the delay (ms) from this file, re-read every 200 ms (change it while running)." };
        var command = new Command("relay", "Lab delay relay (there is no netem here): forwards TCP and UDP, adding latency.") { listen, target, delay, delayFile };
        command.Hidden = true;
        command.SetAction((parse, _) => CommonOptions.RunAsync(async () =>
        {
            using var shutdown = new ShutdownSignal();
            using ILoggerFactory logging = CliLogging.Create(parse.GetValue(CommonOptions.Verbose));
            ILogger logger = logging.CreateLogger("relay");
            if (!IPEndPoint.TryParse(parse.GetValue(listen)!, out IPEndPoint? from) || !IPEndPoint.TryParse(parse.GetValue(target)!, out IPEndPoint? to))
            {
                throw new CliException("--listen and --target must be address:port.", ExitCodes.Configuration);
            }

            string? file = parse.GetValue(delayFile);
            int ms = file is null ? parse.GetValue(delay) : ReadDelay(file, parse.GetValue(delay));
            await using DelayRelay relay = DelayRelay.Start(new DelayRelayOptions
            {
                ListenEndPoint = from,
                Target = to,
                DelayToTarget = TimeSpan.FromMilliseconds(ms),
                DelayToClient = TimeSpan.FromMilliseconds(ms),
            }, logger);
            Console.Error.WriteLine($"relay listening on {from} -> {to}, delay {ms} ms each way");
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
            try
            {
                while (await timer.WaitForNextTickAsync(shutdown.Token).ConfigureAwait(false))
                {
                    if (file is not null && ReadDelay(file, ms) is int now && now != ms)
                    {
                        ms = now;
                        relay.SetDelay(TimeSpan.FromMilliseconds(ms));
                        Console.Error.WriteLine($"relay delay now {ms} ms each way");
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            return ExitCodes.Ok;
        }));
        return command;

        static int ReadDelay(string path, int fallback)
        {
            try
            {
                return int.TryParse(File.ReadAllText(path).Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value) ? value : fallback;
            }
            catch (IOException)
            {
                return fallback;
            }
        }
    }

    private static void Say(string line) => Console.WriteLine($"lab: {line}");

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
