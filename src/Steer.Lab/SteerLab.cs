using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Lab;

/// <summary>
/// A complete Steer lab: the <see cref="LabTopology"/> namespaces, a real gateway (<c>steer gateway</c>) in the
/// gateway namespace serving the tenant configuration over HTTPS, an HTTP server (and iperf3) in the internet
/// namespace, and helpers to run <c>steer up</c> and probes in the client namespace. Everything runs as real
/// processes of the <c>steer</c> executable; disposing stops them and removes the namespaces and files.
/// </summary>
public sealed partial class SteerLab : IAsyncDisposable
{
    private readonly List<LabProcess> _processes = [];
    private readonly ILogger _logger;
    private readonly SteerLabOptions _options;
    private int _disposed;

    private SteerLab(LabTopology topology, DirectoryInfo workDirectory, SteerLabOptions options, ILogger logger)
    {
        Topology = topology;
        WorkDirectory = workDirectory.FullName;
        _options = options;
        _logger = logger;
    }

    /// <summary>The namespaces and addresses.</summary>
    public LabTopology Topology { get; }

    /// <summary>How this process runs <c>steer</c>.</summary>
    public SteerExecutable Steer { get; } = SteerExecutable.Resolve();

    /// <summary>Folder with the gateway's files, tokens and control sockets.</summary>
    public string WorkDirectory { get; }

    /// <summary>The gateway's key pin (also in tenant.json).</summary>
    public string GatewayPin { get; private set; } = "";

    /// <summary>A valid user token for the lab tenant.</summary>
    public string Token { get; private set; } = "";

    /// <summary>The tenant name.</summary>
    public string Tenant => _options.Tenant;

    /// <summary>The gateway process.</summary>
    public LabProcess? Gateway { get; private set; }

    /// <summary>Control socket of the gateway.</summary>
    public string GatewaySocket => Path.Combine(WorkDirectory, "gateway.sock");

    /// <summary>URL of the tenant configuration served by the gateway.</summary>
    public string ConfigUrl => $"https://{Topology.GatewayAddress}:8443/v1/tenant.json";

    /// <summary>URL of the lab web server's "who am I" page.</summary>
    public string WhoAmIUrl => $"http://{Topology.InetAddress}:{LabNames.HttpPort}/whoami";

    /// <summary>Creates the namespaces, the gateway's files and starts the gateway and the servers.</summary>
    public static async Task<SteerLab> StartAsync(SteerLabOptions? options = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        options ??= new SteerLabOptions();
        ILogger logger = loggerFactory?.CreateLogger<SteerLab>() ?? NullLogger<SteerLab>.Instance;
        LabTopology topology = await LabTopology.CreateAsync(
            new LabTopologyOptions { Prefix = options.Prefix, DirectPath = options.SteeringServices }, loggerFactory, cancellationToken).ConfigureAwait(false);
        var lab = new SteerLab(topology, Directory.CreateTempSubdirectory("steer-lab-"), options, logger);
        try
        {
            await lab.InitializeAsync(cancellationToken).ConfigureAwait(false);
            return lab;
        }
        catch
        {
            await lab.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task InitializeAsync(CancellationToken ct)
    {
        string gw = Topology.GatewayAddress.ToString();
        if (_options.SteeringServices)
        {
            await StartSteeringServicesAsync(ct).ConfigureAwait(false);
        }

        string[] dns = _options.SteeringServices ? ["--dns-upstream", Topology.InetAddress.ToString()] : [];
        LabCommandResult init = await RunSteerAsync(null, ct,
            ["gateway", "init", "--dir", WorkDirectory, "--tenant", Tenant, "--name", "lab-gw", "--address", gw,
            "--config-server", $"{gw}:8443", "--force", .. dns]).ConfigureAwait(false);
        GatewayPin = ParsePin(init);
        Token = await IssueTokenAsync("alice@lab", 24, ct).ConfigureAwait(false);

        Gateway = StartSteer(Topology.GatewayNamespace, "gateway", "gateway", "--config", Path.Combine(WorkDirectory, "gateway.json"), "--control-socket", GatewaySocket);
        await Gateway.WaitForLineAsync(l => l.Contains("Serving tenant configuration", StringComparison.Ordinal), _options.ReadyTimeout, ct).ConfigureAwait(false);

        foreach (System.Net.IPAddress? address in new[] { Topology.InetAddress, Topology.InetAddressV6 })
        {
            if (address is null)
            {
                continue;
            }

            // With the steering services, IPv4 listens on every address (the lab names' addresses too).
            string bind = _options.SteeringServices && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? "0.0.0.0" : address.ToString();
            LabProcess http = StartSteer(Topology.InetNamespace, $"http-{address.AddressFamily}", "lab", "http-server", "--bind", bind, "--port", LabNames.HttpPort.ToString(CultureInfo.InvariantCulture));
            await http.WaitForLineAsync(l => l.Contains("istening", StringComparison.Ordinal), _options.ReadyTimeout, ct).ConfigureAwait(false);
        }

        if (_options.StartIperf3 && LabPrerequisites.FindExecutable("iperf3") is { } iperf3)
        {
            Track(LabProcess.Start(Topology.InetNamespace, iperf3, ["-s", "-B", Topology.InetAddress.ToString(), "-p", LabNames.Iperf3Port.ToString(CultureInfo.InvariantCulture)],
                new LabProcessOptions { Name = "iperf3" }));
        }
    }

    /// <summary>
    /// The lab names' addresses, dnsmasq serving them, the client namespace's resolv.conf (what <c>ip netns exec</c>
    /// shows inside it as /etc/resolv.conf) and web servers on 443 and 8080.
    /// </summary>
    private async Task StartSteeringServicesAsync(CancellationToken ct)
    {
        string inet = Topology.InetNamespace;
        foreach (string address in new[] { LabNames.TunnelNameAddress, LabNames.DirectNameAddress, LabNames.WildcardAddress, LabNames.OtherNameAddress })
        {
            (await RunInAsync(inet, "ip", TimeSpan.FromSeconds(10), ct, "addr", "add", address + "/32", "dev", LabNames.InetInterface).ConfigureAwait(false)).EnsureSuccess();
        }

        string dnsmasq = LabPrerequisites.FindExecutable("dnsmasq")
            ?? throw new LabException("dnsmasq is missing: the steering lab needs it as the internet's DNS server (Debian package dnsmasq-base; scripts/install-deps.sh installs it)");
        Track(LabProcess.Start(inet, dnsmasq,
        [
            "--keep-in-foreground", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
            "--bind-interfaces", "--listen-address=" + Topology.InetAddress, "--port=53", "--user=root", "--group=root",
            "--pid-file=" + Path.Combine(WorkDirectory, "dnsmasq.pid"), "--log-queries", "--log-facility=-",
            "--local-ttl=" + LabNames.DnsTtlSeconds.ToString(CultureInfo.InvariantCulture),
            $"--host-record={LabNames.TunnelName},{LabNames.TunnelNameAddress}",
            $"--host-record={LabNames.DirectName},{LabNames.DirectNameAddress}",
            $"--host-record={LabNames.OtherName},{LabNames.OtherNameAddress}",
            $"--address=/{LabNames.WildcardDomain}/{LabNames.WildcardAddress}",
        ], new LabProcessOptions { Name = "dnsmasq", Logger = _logger }));

        string etc = LabTopology.GetNamespaceEtcDirectory(Topology.ClientNamespace);
        Directory.CreateDirectory(etc);
        await File.WriteAllTextAsync(ClientResolvConf, $"# Steer lab: the internet namespace's DNS server\nnameserver {Topology.InetAddress}\n", ct).ConfigureAwait(false);

        foreach (int port in new[] { 443, 8080 })
        {
            LabProcess http = StartSteer(inet, $"http-{port}", "lab", "http-server", "--bind", "0.0.0.0", "--port", port.ToString(CultureInfo.InvariantCulture));
            await http.WaitForLineAsync(l => l.Contains("istening", StringComparison.Ordinal), _options.ReadyTimeout, ct).ConfigureAwait(false);
        }

        // dnsmasq is ready once it answers.
        DateTime deadline = DateTime.UtcNow + _options.ReadyTimeout;
        while (true)
        {
            LabCommandResult probe = await RunInAsync(Topology.ClientNamespace, "getent", TimeSpan.FromSeconds(5), ct, "ahostsv4", LabNames.TunnelName).ConfigureAwait(false);
            if (probe.Succeeded && probe.StandardOutput.Contains(LabNames.TunnelNameAddress, StringComparison.Ordinal))
            {
                break;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new LabException($"the lab DNS server did not answer {LabNames.TunnelName} within {_options.ReadyTimeout.TotalSeconds:0} s: {probe}");
            }

            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The client namespace's resolv.conf (what <c>ip netns exec</c> shows there as /etc/resolv.conf).</summary>
    public string ClientResolvConf => Path.Combine(LabTopology.GetNamespaceEtcDirectory(Topology.ClientNamespace), "resolv.conf");

    /// <summary>The key pin that <c>steer gateway init</c> prints.</summary>
    private static string ParsePin(LabCommandResult init)
    {
        const string Prefix = "Gateway key pin: ";
        return init.StandardOutput.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith(Prefix, StringComparison.Ordinal))[Prefix.Length..];
    }

    /// <summary>Issues a token for <paramref name="user"/> with the gateway's signing key.</summary>
    public async Task<string> IssueTokenAsync(string user, double hours, CancellationToken cancellationToken = default)
    {
        LabCommandResult result = await RunSteerAsync(null, cancellationToken,
            "gateway", "issue-token", "--config", Path.Combine(WorkDirectory, "gateway.json"), "--user", user,
            "--hours", hours.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        return result.StandardOutput.Trim();
    }

    /// <summary>
    /// Starts <c>steer up</c> in the client namespace against the lab gateway. Extra arguments are appended (and may
    /// override the token with <c>--token</c>). Does not wait for the tunnel; see <see cref="WaitForClientStateAsync"/>.
    /// </summary>
    public LabProcess StartClient(string name = "client", string? token = null, params string[] extraArguments)
        => StartClientWithEnvironment(name, null, token, extraArguments);

    /// <summary>
    /// <see cref="StartClient(string, string?, string[])"/> with environment variables for the <c>steer up</c> process
    /// (e.g. <c>STEER_UDP_GSO=0</c>).
    /// </summary>
    public LabProcess StartClientWithEnvironment(string name, IReadOnlyDictionary<string, string?>? environment, string? token = null, params string[] extraArguments)
    {
        // The client namespace's own resolv.conf, so that Steer's DNS changes never touch the host's /etc/resolv.conf.
        Directory.CreateDirectory(LabTopology.GetNamespaceEtcDirectory(Topology.ClientNamespace));
        string[] args =
        [
            "up", "--tenant", Tenant, "--config-url", ConfigUrl, "--config-pin", GatewayPin,
            "--token", token ?? Token, "--device-id", $"lab-{name}", "--control-socket", ClientSocket(name),
            "--resolv-conf", ClientResolvConf, "--state-dir", ClientStateDirectory(name),
            .. extraArguments,
        ];
        return StartSteer(Topology.ClientNamespace, name, environment, args);
    }

    /// <summary>
    /// Starts <c>steer up</c> in the client namespace with a tenant configuration file (see
    /// <see cref="WriteTenantConfiguration(string, IEnumerable{LabGateway}, System.Text.Json.Nodes.JsonObject?)"/>) instead of the
    /// gateway's configuration server.
    /// </summary>
    public LabProcess StartClientWithConfiguration(string name, string configurationFile, params string[] extraArguments)
    {
        Directory.CreateDirectory(LabTopology.GetNamespaceEtcDirectory(Topology.ClientNamespace));
        return StartSteer(Topology.ClientNamespace, name,
        [
            "up", "--tenant", Tenant, "--config", configurationFile, "--token", Token, "--device-id", $"lab-{name}",
            "--control-socket", ClientSocket(name), "--resolv-conf", ClientResolvConf, "--state-dir", ClientStateDirectory(name),
            .. extraArguments,
        ]);
    }

    /// <summary>Runs a steer command (e.g. <c>down --cleanup</c>) in the client namespace; the result is not checked.</summary>
    public Task<LabCommandResult> RunSteerInClientAsync(CancellationToken cancellationToken, params string[] arguments)
        => LabProcess.RunAsync(Topology.ClientNamespace, Steer.FileName, Steer.GetArguments(arguments), TimeSpan.FromSeconds(60), cancellationToken);

    /// <summary>State folder (crash journal) of the client started with <paramref name="name"/>.</summary>
    public string ClientStateDirectory(string name = "client") => Path.Combine(WorkDirectory, $"{name}-state");

    /// <summary>Control socket of the client started with <paramref name="name"/>.</summary>
    public string ClientSocket(string name = "client") => Path.Combine(WorkDirectory, $"{name}.sock");

    /// <summary>Waits until the client's status line reports <paramref name="state"/> (e.g. "connected").</summary>
    public async Task WaitForClientStateAsync(LabProcess client, string state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        await client.WaitForLineAsync(l => l.StartsWith($"steer: {state}", StringComparison.Ordinal), _options.ReadyTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a command in a lab namespace.</summary>
    public static Task<LabCommandResult> RunInAsync(string networkNamespace, string file, TimeSpan timeout, CancellationToken cancellationToken, params string[] arguments)
        => LabProcess.RunAsync(networkNamespace, file, arguments, timeout, cancellationToken);

    /// <summary>Fetches <paramref name="url"/> with curl from the client namespace.</summary>
    public Task<LabCommandResult> CurlFromClientAsync(string url, TimeSpan timeout, CancellationToken cancellationToken = default, params string[] extraArguments)
        => LabProcess.RunAsync(Topology.ClientNamespace, "curl", ["-sS", "--max-time", ((int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture), .. extraArguments, url], timeout + TimeSpan.FromSeconds(5), cancellationToken);

    /// <summary>Reads the gateway's status JSON over its control socket.</summary>
    public async Task<JsonElement> GatewayStatusAsync(CancellationToken cancellationToken = default)
        => await StatusAsync(cancellationToken, "gateway", "status", "--json", "--control-socket", GatewaySocket).ConfigureAwait(false);

    /// <summary>Reads a client's status JSON over its control socket.</summary>
    public async Task<JsonElement> ClientStatusAsync(string name = "client", CancellationToken cancellationToken = default)
        => await StatusAsync(cancellationToken, "status", "--json", "--control-socket", ClientSocket(name)).ConfigureAwait(false);

    /// <summary>Stops every process (SIGTERM, then SIGKILL), removes the namespaces and the work folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (LabProcess process in Enumerable.Reverse(_processes))
        {
            process.Terminate();
        }

        foreach (LabProcess process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }

        await Topology.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<JsonElement> StatusAsync(CancellationToken ct, params string[] args)
    {
        LabCommandResult result = await RunSteerAsync(null, ct, args).ConfigureAwait(false);
        using JsonDocument document = JsonDocument.Parse(result.StandardOutput);
        return document.RootElement.Clone();
    }

    private LabProcess StartSteer(string ns, string name, params string[] args) => StartSteer(ns, name, null, args);

    private LabProcess StartSteer(string ns, string name, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        string[] all = _options.Verbose ? ["-v", .. args] : args;
        var options = new LabProcessOptions { Name = name, Logger = _logger };
        foreach (KeyValuePair<string, string?> variable in environment ?? new Dictionary<string, string?>())
        {
            options.Environment[variable.Key] = variable.Value;
        }

        return Track(LabProcess.Start(ns, Steer.FileName, Steer.GetArguments(all), options));
    }

    private LabProcess Track(LabProcess process)
    {
        _processes.Add(process);
        return process;
    }

    private async Task<LabCommandResult> RunSteerAsync(string? ns, CancellationToken ct, params string[] args)
    {
        LabCommandResult result = await LabProcess.RunAsync(ns, Steer.FileName, Steer.GetArguments(args), TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        return result.EnsureSuccess();
    }
}
