using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Tls;
using Steer.Protocol;
using Steer.Protocol.Dtls;
using Steer.Tun;

namespace Steer.Gateway;

/// <summary>One authenticated client session on the gateway: its TLS connection and, when up, its DTLS channel.</summary>
internal sealed class GatewaySession(
    string id, string user, string deviceId, string remote, AddressPool.Lease lease, TunnelConnection connection, int mtu,
    Func<GatewaySession, PacketInlet> newDtlsInlet, ILogger logger)
{
    private DtlsChannel? _dtls;
    private TunPacketWriter? _dtlsTunWriter;
    private PeerDatagramTransport? _dtlsPeer;
    private Action? _forgetDtlsPeer;
    private long _transportSwitches;
    private long _tooBigForDtls;
    private bool _lastWasDtls;

    public string Id { get; } = id;

    public string User { get; } = user;

    public string DeviceId { get; } = deviceId;

    public string Remote { get; } = remote;

    public AddressPool.Lease Lease { get; } = lease;

    public TunnelConnection Connection { get; } = connection;

    public DateTimeOffset Since { get; } = DateTimeOffset.UtcNow;

    /// <summary>One-time PSK for this session's DTLS channel (sent to the client inside TLS).</summary>
    public byte[] DtlsKey { get; } = RandomNumberGenerator.GetBytes(32);

    public bool IsClosed { get; private set; }

    public DtlsChannel? Dtls => Volatile.Read(ref _dtls);

    /// <summary>The TLS receive loop's writer to the gateway's TUN (for its counters); set by the loop.</summary>
    public TunPacketWriter? TlsTunWriter { get; set; }

    /// <summary>Packets to the client larger than the DTLS path MTU, sent over TLS instead.</summary>
    public long PacketsTooBigForDtls => Interlocked.Read(ref _tooBigForDtls);

    /// <summary>Installs a new DTLS channel (a client re-handshakes after UDP came back or its address changed).</summary>
    public void AttachDtls(DtlsTransport transport, PeerDatagramTransport peer, Action forgetPeer)
    {
        PacketInlet inlet = newDtlsInlet(this);
        Volatile.Write(ref _dtlsTunWriter, inlet.Writer);
        peer.BeforeWait = inlet.OnIdle;
        var channel = new DtlsChannel(transport, inlet.OnPacket, mtu, $"dtls-{Id}", logger, peer, guard: peer.Guard);
        DtlsChannel? old = Interlocked.Exchange(ref _dtls, channel);
        Volatile.Write(ref _dtlsPeer, peer);
        Action? oldForget = Interlocked.Exchange(ref _forgetDtlsPeer, forgetPeer);
        old?.Dispose();
        oldForget?.Invoke();
        if (IsClosed)
        {
            DetachDtls();
        }
    }

    /// <summary>
    /// Sends a packet to the client: over DTLS while that channel is healthy, otherwise over TLS. The client
    /// decides the same way from its side, so both directions fall back and return together. A packet larger than the
    /// DTLS path MTU (probed, docs/protocol.md §6) goes over TLS rather than into a path that would drop it.
    /// </summary>
    public bool SendToClient(ReadOnlySpan<byte> packet)
    {
        DtlsChannel? dtls = Volatile.Read(ref _dtls);
        bool useDtls = dtls is { IsHealthy: true, PathMtu: > 0 };
        if (useDtls != _lastWasDtls)
        {
            _lastWasDtls = useDtls;
            Interlocked.Increment(ref _transportSwitches);
        }

        if (useDtls)
        {
            if (packet.Length <= dtls!.PathMtu)
            {
                return dtls.TrySendPacket(packet);
            }

            Interlocked.Increment(ref _tooBigForDtls);
        }

        return Connection.TrySendPacket(packet);
    }

    public void Close()
    {
        IsClosed = true;
        DetachDtls();
    }

    private void DetachDtls()
    {
        Interlocked.Exchange(ref _dtls, null)?.Dispose();
        Interlocked.Exchange(ref _forgetDtlsPeer, null)?.Invoke();
    }

    public GatewaySessionInfo Describe()
    {
        DtlsChannel? dtls = Dtls;
        return new()
        {
            Id = Id,
            User = User,
            DeviceId = DeviceId,
            Remote = Remote,
            IPv4 = Lease.IPv4.ToString(),
            IPv6 = Lease.IPv6?.ToString(),
            Transport = dtls is { IsHealthy: true, PathMtu: > 0 } ? "dtls" : "tls",
            PathMtu = dtls?.PathMtu,
            PacketsTooBigForDtls = PacketsTooBigForDtls,
            PacketsReceived = Connection.Counters.PacketsReceived + (dtls?.Counters.PacketsReceived ?? 0),
            PacketsSent = Connection.Counters.PacketsSent + (dtls?.Counters.PacketsSent ?? 0),
            DtlsPacketsReceived = dtls?.Counters.PacketsReceived ?? 0,
            DtlsPacketsSent = dtls?.Counters.PacketsSent ?? 0,
            DtlsGsoDatagrams = Volatile.Read(ref _dtlsPeer)?.SendBatch?.GsoSegments ?? 0,
            TunMergedPackets = (TlsTunWriter?.MergedSegments ?? 0) + (Volatile.Read(ref _dtlsTunWriter)?.MergedSegments ?? 0),
            TransportSwitches = Interlocked.Read(ref _transportSwitches),
            Since = Since,
        };
    }
}

/// <summary>
/// Where one receive loop of a session puts the client's packets: <see cref="OnPacket"/> for each, <see cref="OnIdle"/>
/// before the loop waits for more (the TUN writer then writes what it holds).
/// </summary>
internal sealed record PacketInlet(Action<ReadOnlyMemory<byte>> OnPacket, Action OnIdle, TunPacketWriter? Writer);
