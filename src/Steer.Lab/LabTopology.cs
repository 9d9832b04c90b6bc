using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Lab;

/// <summary>
/// Three network namespaces joined by veth pairs: <c>&lt;prefix&gt;client</c> (c0) ↔ (g0) <c>&lt;prefix&gt;gw</c> (g1) ↔
/// (i0) <c>&lt;prefix&gt;inet</c>. The client has only its connected routes, so it reaches the internet namespace
/// only through Steer; the internet namespace has only its connected route, so the gateway must NAT.
/// </summary>
/// <remarks>
/// <para>
/// Create with <see cref="CreateAsync"/> (all or nothing: a failure removes what was already created), remove with
/// <see cref="DisposeAsync"/> (kills every process left in the namespaces; idempotent). After a crash,
/// <see cref="CleanupStaleAsync"/> removes the namespaces of a prefix.
/// </para>
/// <para>
/// The veth pairs are created directly inside their namespaces (<c>ip link add c0 netns A type veth peer name g0 netns B</c>),
/// so no interface ever appears in the root namespace and concurrent labs cannot clash on interface names.
/// </para>
/// <para>Linux only; needs root and iproute2 (see <see cref="LabPrerequisites"/>).</para>
/// </remarks>
public sealed partial class LabTopology : IAsyncDisposable
{
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(50);

    private readonly LabTopologyOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _disposeGate = new();
    private Task? _disposeTask;

    private LabTopology(LabTopologyOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        Prefix = options.Prefix;
        ClientNamespace = options.Prefix + LabNames.ClientSuffix;
        GatewayNamespace = options.Prefix + LabNames.GatewaySuffix;
        InetNamespace = options.Prefix + LabNames.InetSuffix;
    }

    /// <summary>The prefix of the namespace names.</summary>
    public string Prefix { get; }

    /// <summary>The client namespace, <c>&lt;prefix&gt;client</c>.</summary>
    public string ClientNamespace { get; }

    /// <summary>The gateway namespace, <c>&lt;prefix&gt;gw</c>.</summary>
    public string GatewayNamespace { get; }

    /// <summary>The internet namespace, <c>&lt;prefix&gt;inet</c>.</summary>
    public string InetNamespace { get; }

    /// <summary>The three namespaces, in creation order: client, gateway, internet.</summary>
    public IReadOnlyList<string> Namespaces => [ClientNamespace, GatewayNamespace, InetNamespace];

    /// <summary>The client's address on <c>c0</c> (default 198.18.1.2).</summary>
    public IPAddress ClientAddress => _options.ClientAddress;

    /// <summary>The gateway's address on the client side, <c>g0</c> (default 198.18.1.1): where the client connects.</summary>
    public IPAddress GatewayAddress => _options.GatewayAddress;

    /// <summary>The gateway's address on the internet side, <c>g1</c> (default 198.18.2.1): the NAT source.</summary>
    public IPAddress GatewayInetAddress => _options.GatewayInetAddress;

    /// <summary>The internet namespace's address on <c>i0</c> (default 198.18.2.2): where the servers listen.</summary>
    public IPAddress InetAddress => _options.InetAddress;

    /// <summary>Whether the links have IPv6 addresses; when false the <c>*V6</c> properties are <see langword="null"/>.</summary>
    public bool IPv6Enabled => _options.EnableIPv6;

    /// <summary>The client's IPv6 address (default fd53:7ee7:1::2), or <see langword="null"/> without IPv6.</summary>
    public IPAddress? ClientAddressV6 => IPv6Enabled ? _options.ClientAddressV6 : null;

    /// <summary>The gateway's IPv6 address on the client side (default fd53:7ee7:1::1), or <see langword="null"/>.</summary>
    public IPAddress? GatewayAddressV6 => IPv6Enabled ? _options.GatewayAddressV6 : null;

    /// <summary>The gateway's IPv6 address on the internet side (default fd53:7ee7:2::1), or <see langword="null"/>.</summary>
    public IPAddress? GatewayInetAddressV6 => IPv6Enabled ? _options.GatewayInetAddressV6 : null;

    /// <summary>The internet namespace's IPv6 address (default fd53:7ee7:2::2), or <see langword="null"/>.</summary>
    public IPAddress? InetAddressV6 => IPv6Enabled ? _options.InetAddressV6 : null;

    /// <summary>
    /// Creates the three namespaces, the veth links, addresses and sysctls, and waits until the links are up and
    /// no IPv6 address is tentative. All or nothing: on failure or cancellation, what was created is removed.
    /// </summary>
    /// <param name="options">Prefix, addresses and timeouts; <see langword="null"/> for the defaults.</param>
    /// <param name="loggerFactory">Logs progress; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels creation (what was created is then removed).</param>
    /// <returns>The lab, ready for use.</returns>
    /// <exception cref="LabException">
    /// A prerequisite is missing, a namespace of the prefix already exists, or an <c>ip</c> command failed.
    /// </exception>
    /// <exception cref="PlatformNotSupportedException">Not running on Linux.</exception>
    public static async Task<LabTopology> CreateAsync(
        LabTopologyOptions? options = null,
        ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The lab needs Linux (network namespaces).");
        }

        options = (options ?? new LabTopologyOptions()).Clone();
        options.Validate(nameof(options));
        LabPrerequisites.EnsureMet();
        if (options.EnableIPv6 && !Directory.Exists("/proc/sys/net/ipv6"))
        {
            throw new LabException(
                "IPv6 is not available in this kernel: set LabTopologyOptions.EnableIPv6 = false to run the lab without it.");
        }

        ILogger logger = loggerFactory?.CreateLogger<LabTopology>() ?? NullLogger<LabTopology>.Instance;
        var topology = new LabTopology(options, logger);
        var created = new List<string>(3);
        try
        {
            foreach (string ns in topology.Namespaces)
            {
                if (NamespaceExists(ns))
                {
                    throw new LabException(
                        $"network namespace {ns} already exists: a lab with prefix '{options.Prefix}' is up or was left by a crash " +
                        "(remove it with `steer lab down` or LabTopology.CleanupStaleAsync)");
                }
            }

            foreach (string ns in topology.Namespaces)
            {
                try
                {
                    await topology.IpAsync(["netns", "add", ns], cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
                {
                    // `ip netns add` was killed: it may have created the namespace already (it did not exist before).
                    created.Add(ns);
                    throw;
                }

                created.Add(ns);
                LabLog.NamespaceCreated(logger, ns);
            }

            await topology.ConfigureAsync(cancellationToken).ConfigureAwait(false);
            LabLog.TopologyReady(
                logger,
                options.Prefix,
                topology.ClientNamespace,
                options.ClientAddress.ToString(),
                topology.GatewayNamespace,
                options.GatewayAddress.ToString(),
                options.GatewayInetAddress.ToString(),
                topology.InetNamespace,
                options.InetAddress.ToString());
            return topology;
        }
        catch (Exception ex)
        {
            LabLog.CreateFailed(logger, options.Prefix, ex);

            // Remove only what this call created: a namespace that already existed belongs to someone else.
            for (int i = created.Count - 1; i >= 0; i--)
            {
                await RemoveNamespaceQuietlyAsync(created[i], logger).ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Returns the namespace of the lab whose name is <c>Prefix + suffix</c> (see <see cref="LabNames"/>).</summary>
    /// <param name="suffix"><see cref="LabNames.ClientSuffix"/>, <see cref="LabNames.GatewaySuffix"/> or <see cref="LabNames.InetSuffix"/>.</param>
    /// <returns>The namespace name.</returns>
    public string GetNamespace(string suffix)
        => suffix switch
        {
            LabNames.ClientSuffix => ClientNamespace,
            LabNames.GatewaySuffix => GatewayNamespace,
            LabNames.InetSuffix => InetNamespace,
            _ => throw new ArgumentException($"Unknown lab namespace suffix '{suffix}'.", nameof(suffix)),
        };

    /// <summary>
    /// Kills every process left in the three namespaces and removes them. Idempotent and safe to call concurrently;
    /// never throws for a namespace that is already gone.
    /// </summary>
    /// <returns>A task that completes when the namespaces are removed.</returns>
    public ValueTask DisposeAsync()
    {
        lock (_disposeGate)
        {
            _disposeTask ??= DisposeCoreAsync();
            return new ValueTask(_disposeTask);
        }
    }

    /// <summary>Describes the lab: its prefix and namespaces.</summary>
    /// <returns>A one-line description.</returns>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"lab '{Prefix}' ({ClientNamespace}, {GatewayNamespace}, {InetNamespace})");

    private async Task DisposeCoreAsync()
    {
        for (int i = Namespaces.Count - 1; i >= 0; i--)
        {
            await RemoveNamespaceQuietlyAsync(Namespaces[i], _logger).ConfigureAwait(false);
        }
    }

    private async Task ConfigureAsync(CancellationToken cancellationToken)
    {
        LabTopologyOptions o = _options;

        // Per-namespace sysctls first, so the interfaces created next inherit "default" (no DAD, no RA/autoconf).
        foreach (string ns in Namespaces)
        {
            var sysctls = new List<string> { "-q", "-w" };
            if (o.EnableIPv6)
            {
                sysctls.AddRange([
                    "net.ipv6.conf.all.accept_dad=0",
                    "net.ipv6.conf.default.accept_dad=0",
                    "net.ipv6.conf.all.accept_ra=0",
                    "net.ipv6.conf.default.accept_ra=0",
                    "net.ipv6.conf.default.autoconf=0",
                ]);
            }

            if (o.EnableGatewayForwarding && ns == GatewayNamespace)
            {
                sysctls.Add("net.ipv4.ip_forward=1");
                if (o.EnableIPv6)
                {
                    sysctls.Add("net.ipv6.conf.all.forwarding=1");
                }
            }

            if (sysctls.Count > 2)
            {
                await NetnsExecAsync(ns, "sysctl", sysctls, cancellationToken).ConfigureAwait(false);
            }

            await IpAsync(["-n", ns, "link", "set", "lo", "up"], cancellationToken).ConfigureAwait(false);
        }

        await AddVethAsync(ClientNamespace, LabNames.ClientInterface, GatewayNamespace, LabNames.GatewayClientInterface, cancellationToken)
            .ConfigureAwait(false);
        await AddVethAsync(GatewayNamespace, LabNames.GatewayInetInterface, InetNamespace, LabNames.InetInterface, cancellationToken)
            .ConfigureAwait(false);

        (string Namespace, string Interface, IPAddress V4, int V4Length, IPAddress V6, int V6Length)[] ends =
        [
            (ClientNamespace, LabNames.ClientInterface, o.ClientAddress, o.ClientLinkPrefixLength, o.ClientAddressV6, o.ClientLinkPrefixLengthV6),
            (GatewayNamespace, LabNames.GatewayClientInterface, o.GatewayAddress, o.ClientLinkPrefixLength, o.GatewayAddressV6, o.ClientLinkPrefixLengthV6),
            (GatewayNamespace, LabNames.GatewayInetInterface, o.GatewayInetAddress, o.InetLinkPrefixLength, o.GatewayInetAddressV6, o.InetLinkPrefixLengthV6),
            (InetNamespace, LabNames.InetInterface, o.InetAddress, o.InetLinkPrefixLength, o.InetAddressV6, o.InetLinkPrefixLengthV6),
        ];

        foreach (var end in ends)
        {
            string v4 = string.Create(CultureInfo.InvariantCulture, $"{end.V4}/{end.V4Length}");
            await IpAsync(["-n", end.Namespace, "-4", "addr", "add", v4, "dev", end.Interface], cancellationToken).ConfigureAwait(false);
            if (o.EnableIPv6)
            {
                // nodad: the address is usable at once (no ~1-2 s of "tentative" during which bind() fails).
                string v6 = string.Create(CultureInfo.InvariantCulture, $"{end.V6}/{end.V6Length}");
                await IpAsync(["-n", end.Namespace, "-6", "addr", "add", v6, "dev", end.Interface, "nodad"], cancellationToken)
                    .ConfigureAwait(false);
            }
        }

        foreach (var end in ends)
        {
            await IpAsync(["-n", end.Namespace, "link", "set", end.Interface, "up"], cancellationToken).ConfigureAwait(false);
        }

        await WaitUntilReadyAsync(ends.Select(e => (e.Namespace, e.Interface)).ToArray(), cancellationToken).ConfigureAwait(false);
        if (o.DirectPath)
        {
            string clientLink = InterfaceNetwork(o.ClientAddress, o.ClientLinkPrefixLength);
            await IpAsync(["-n", ClientNamespace, "-4", "route", "add", "default", "via", o.GatewayAddress.ToString()], cancellationToken).ConfigureAwait(false);
            await IpAsync(["-n", InetNamespace, "-4", "route", "add", clientLink, "via", o.GatewayInetAddress.ToString()], cancellationToken).ConfigureAwait(false);
            if (o.EnableIPv6)
            {
                string clientLink6 = InterfaceNetwork(o.ClientAddressV6, o.ClientLinkPrefixLengthV6);
                await IpAsync(["-n", ClientNamespace, "-6", "route", "add", "default", "via", o.GatewayAddressV6.ToString()], cancellationToken).ConfigureAwait(false);
                await IpAsync(["-n", InetNamespace, "-6", "route", "add", clientLink6, "via", o.GatewayInetAddressV6.ToString()], cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string InterfaceNetwork(IPAddress address, int prefixLength)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int bit = prefixLength; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return string.Create(CultureInfo.InvariantCulture, $"{new IPAddress(bytes)}/{prefixLength}");
    }

    private async Task AddVethAsync(string ns1, string name1, string ns2, string name2, CancellationToken cancellationToken)
    {
        var args = new List<string> { "link", "add", name1, "netns", ns1 };
        if (_options.Mtu is int mtu)
        {
            args.AddRange(["mtu", mtu.ToString(CultureInfo.InvariantCulture)]);
        }

        args.AddRange(["type", "veth", "peer", "name", name2, "netns", ns2]);
        if (_options.Mtu is int peerMtu)
        {
            args.AddRange(["mtu", peerMtu.ToString(CultureInfo.InvariantCulture)]);
        }

        await IpAsync(args, cancellationToken).ConfigureAwait(false);
    }

    private async Task WaitUntilReadyAsync((string Namespace, string Interface)[] ends, CancellationToken cancellationToken)
    {
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(_options.ReadyTimeout);
        string lastProblem = "not checked yet";
        try
        {
            while (true)
            {
                lastProblem = await FindNotReadyAsync(ends, timeoutCts.Token).ConfigureAwait(false) ?? string.Empty;
                if (lastProblem.Length == 0)
                {
                    return;
                }

                await Task.Delay(s_pollInterval, timeoutCts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LabException(
                $"the lab links were not ready within {_options.ReadyTimeout.TotalSeconds:0.#} s: {lastProblem}");
        }
    }

    private async Task<string?> FindNotReadyAsync((string Namespace, string Interface)[] ends, CancellationToken cancellationToken)
    {
        foreach ((string ns, string name) in ends)
        {
            // "state UP" once both ends of the veth pair are up (LOWER_UP); "state LOWERLAYERDOWN" before.
            LabCommandResult link = await IpAsync(["-n", ns, "-o", "link", "show", "dev", name], cancellationToken)
                .ConfigureAwait(false);
            if (!link.StandardOutput.Contains(" state UP ", StringComparison.Ordinal))
            {
                return $"{ns}/{name} is not up yet: {link.StandardOutput.Trim()}";
            }
        }

        if (_options.EnableIPv6)
        {
            foreach (string ns in Namespaces)
            {
                LabCommandResult tentative = await IpAsync(["-n", ns, "-6", "-o", "addr", "show", "tentative"], cancellationToken)
                    .ConfigureAwait(false);
                if (tentative.StandardOutput.Trim().Length > 0)
                {
                    return $"{ns} has tentative IPv6 addresses: {tentative.StandardOutput.Trim()}";
                }
            }
        }

        return null;
    }

    private Task<LabCommandResult> IpAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        => LabProcess.RunCheckedAsync(null, IpPath, arguments, _options.CommandTimeout, cancellationToken);

    private Task<LabCommandResult> NetnsExecAsync(string ns, string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        => LabProcess.RunCheckedAsync(ns, fileName, arguments, _options.CommandTimeout, cancellationToken);
}
