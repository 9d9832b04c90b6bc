using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Steer.DnsStub;
using Steer.Policy;
using Steer.Protocol;
using Steer.Security;
using Steer.Tun;
using Steer.Tun.Linux;

namespace Steer.Gateway;

/// <summary>
/// The reference gateway: accepts pinned-TLS tunnel sessions, authenticates clients by token, assigns inner
/// addresses, and forwards between the sessions and its own TUN interface, behind NAT. Many sessions at once;
/// a misbehaving client ends only its own session.
/// </summary>
public sealed partial class GatewayServer : IAsyncDisposable
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly GatewayOptions _options;
    private readonly ILogger _logger;
    private readonly X509Certificate2 _certificate;
    private readonly TokenValidator _tokens;
    private readonly AddressPool _pool;
    private IReadOnlyList<string> _dnsServers;
    private readonly ConcurrentDictionary<uint, GatewaySession> _byIPv4 = new();
    private readonly ConcurrentDictionary<UInt128, GatewaySession> _byIPv6 = new();
    private readonly ConcurrentDictionary<string, GatewaySession> _sessions = new();
    private ITunDevice? _device;
    private DtlsListener? _dtls;
    private long _accepted;
    private long _authFailures;
    private long _handshakeFailures;
    private long _toTun;
    private long _fromTun;
    private long _spoofed;
    private long _noSession;
    private long _malformed;

    /// <summary>Creates the gateway; loads its certificate and token key. Nothing listens until <see cref="RunAsync"/>.</summary>
    /// <exception cref="GatewayConfigurationException">A key or certificate file is missing or unreadable.</exception>
    public GatewayServer(GatewayOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate("gateway options");
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _certificate = LoadCertificate(options);
        _tokens = new TokenValidator(LoadPublicKey(options.Resolve(options.TokenPublicKey), "tokenPublicKey"));
        _pool = new AddressPool(IPNetwork.Parse(options.Ipv4Pool), options.Ipv6Pool is null ? null : IPNetwork.Parse(options.Ipv6Pool), options.MaxSessions);
        _dnsServers = options.DnsServers;
    }

    /// <summary>The endpoint the gateway listens on, once <see cref="RunAsync"/> has bound it.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Raised once the gateway listens and its TUN is up.</summary>
    public event EventHandler? Started;

    /// <summary>A snapshot of sessions and counters.</summary>
    public GatewayStatus GetStatus() => new()
    {
        Name = _options.Name,
        Tenant = _options.Tenant,
        Interface = _device?.Name,
        Sessions = _sessions.Values.Select(s => s.Describe()).OrderBy(s => s.IPv4, StringComparer.Ordinal).ToArray(),
        SessionsAccepted = Interlocked.Read(ref _accepted),
        AuthenticationFailures = Interlocked.Read(ref _authFailures),
        HandshakeFailures = Interlocked.Read(ref _handshakeFailures),
        PacketsToTun = Interlocked.Read(ref _toTun),
        PacketsFromTun = Interlocked.Read(ref _fromTun),
        SpoofedDropped = Interlocked.Read(ref _spoofed),
        NoSessionDropped = Interlocked.Read(ref _noSession),
        MalformedDropped = Interlocked.Read(ref _malformed),
        UdpDatagrams = _dtls?.Datagrams ?? 0,
        UdpGroDatagrams = _dtls?.GroDatagrams ?? 0,
        UdpDropped = _dtls?.Dropped ?? 0,
        DtlsGarbageDropped = _dtls?.Records.GarbageDropped ?? 0,
        DtlsReplayedDropped = _dtls?.Records.ReplayedDropped ?? 0,
        DtlsRejectedDropped = _dtls?.Records.RejectedDropped ?? 0,
        ProbesAnswered = _dtls?.ProbesAnswered ?? 0,
    };

    /// <summary>
    /// Creates the TUN, installs NAT, listens, and serves sessions until <paramref name="cancellationToken"/> fires;
    /// then closes every session and undoes every change to the host.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        IPEndPoint listen = IPEndPoint.Parse(_options.Listen);
        using IRouter router = Router.Create(_logger);
        ITunDevice device = TunDevice.Create(new TunDeviceOptions { Name = _options.TunName, Mtu = _options.Mtu }, _logger);
        await using (device.ConfigureAwait(false))
        {
            _device = device;
            router.SetInterfaceUp(device.InterfaceIndex, _options.Mtu);
            router.AddAddress(device.InterfaceIndex, _pool.GatewayIPv4);
            if (_pool.GatewayIPv6 is { } v6)
            {
                router.AddAddress(device.InterfaceIndex, v6);
            }

            IDisposable? nat = _options.Nat ? EnableNat(device.Name) : null;
            DnsStubResolver? dnsForwarder = null;
            try
            {
                dnsForwarder = await StartDnsForwarderAsync(cancellationToken).ConfigureAwait(false);
                using var listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (listen.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    listener.DualMode = true;
                }

                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                listener.Bind(listen);
                listener.Listen(512);
                LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
                LogListening(_logger, _options.Name, LocalEndPoint.ToString(), device.Name, CertificatePin.Compute(_certificate));

                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                using DtlsListener? dtls = _options.Dtls ? new DtlsListener(LocalEndPoint, id => _sessions.GetValueOrDefault(id), _logger) : null;
                _dtls = dtls;
                Task dtlsLoop = dtls?.RunAsync(stop.Token) ?? Task.CompletedTask;
                Task tunPump = PumpFromTunAsync(device, stop.Token);
                Task? configServer = _options.ConfigServer is { } cs
                    ? TenantConfigServer.RunAsync(IPEndPoint.Parse(cs.Listen), _certificate, _options.Resolve(cs.File), _logger, stop.Token)
                    : null;
                Started?.Invoke(this, EventArgs.Empty);
                try
                {
                    await AcceptLoopAsync(listener, stop.Token).ConfigureAwait(false);
                }
                finally
                {
                    await stop.CancelAsync().ConfigureAwait(false);
                    await CloseAllSessionsAsync().ConfigureAwait(false);
                    await IgnoreCancellation(tunPump).ConfigureAwait(false);
                    await IgnoreCancellation(dtlsLoop).ConfigureAwait(false);
                    _dtls = null;
                    if (configServer is not null)
                    {
                        await IgnoreCancellation(configServer).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                if (dnsForwarder is not null)
                {
                    await dnsForwarder.DisposeAsync().ConfigureAwait(false);
                }

                nat?.Dispose();
                _device = null;
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await CloseAllSessionsAsync().ConfigureAwait(false);
        _certificate.Dispose();
    }

    /// <summary>
    /// The DNS forwarder on the gateway's inner IPv4 address: clients send the queries for steered names there, through
    /// the tunnel. A plain relay (the stub resolver with no rules, everything to the direct upstream).
    /// </summary>
    private async Task<DnsStubResolver?> StartDnsForwarderAsync(CancellationToken ct)
    {
        if (_options.DnsUpstream is null || GatewayOptions.ParseDnsUpstream(_options.DnsUpstream) is not { } upstream)
        {
            return null;
        }

        var forwarder = await DnsStubResolver.StartAsync(
            new DnsStubResolverOptions
            {
                ListenEndPoint = new IPEndPoint(_pool.GatewayIPv4.Address, 53),
                TunnelUpstream = upstream,
                DirectUpstream = upstream,
                UnmatchedNames = PolicyAction.Direct,
            },
            null,
            ct).ConfigureAwait(false);
        if (_options.DnsServers.Count == 0)
        {
            _dnsServers = [_pool.GatewayIPv4.Address.ToString()];
        }

        LogDnsForwarder(_logger, forwarder.LocalEndPoint.ToString(), upstream.ToString());
        return forwarder;
    }

    private IDisposable EnableNat(string tunName)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The reference gateway's NAT needs Linux (nftables); set \"nat\": false elsewhere.");
        }

        var pools = new List<IPNetwork> { IPNetwork.Parse(_options.Ipv4Pool) };
        if (_options.Ipv6Pool is not null)
        {
            pools.Add(IPNetwork.Parse(_options.Ipv6Pool));
        }

        return LinuxNat.Enable(SanitizeTableName(_options.Name), tunName, pools, _logger, _options.Mtu);
    }

    private static string SanitizeTableName(string name)
        => new(name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_').Take(24).ToArray());

    private async Task AcceptLoopAsync(Socket listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException ex)
            {
                LogAcceptFailed(_logger, ex.Message);
                await Task.Delay(50, ct).ConfigureAwait(false);
                continue;
            }

            client.NoDelay = true;
            _ = Task.Run(() => ServeClientAsync(client, ct), CancellationToken.None);
        }
    }

    private static async Task IgnoreCancellation(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static X509Certificate2 LoadCertificate(GatewayOptions options)
    {
        string cert = options.Resolve(options.Certificate);
        string key = options.Resolve(options.Key);
        try
        {
            return X509Certificate2.CreateFromPemFile(cert, key);
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException)
        {
            throw new GatewayConfigurationException($"Cannot load the gateway certificate '{cert}' with key '{key}': {ex.Message}", ex);
        }
    }

    private static ECDsa LoadPublicKey(string path, string field)
    {
        try
        {
            var key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(path));
            return key;
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or ArgumentException or UnauthorizedAccessException)
        {
            throw new GatewayConfigurationException($"Cannot load '{field}' from '{path}': {ex.Message}", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "DNS forwarder on {Listen} relays to {Upstream}")]
    private static partial void LogDnsForwarder(ILogger logger, string listen, string upstream);
}
