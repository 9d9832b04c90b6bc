using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Steer.Protocol.Dtls;

namespace Steer.Gateway;

/// <summary>
/// The gateway's UDP side: one socket on the TLS port number, demultiplexed by the sender's address to per-peer
/// DTLS sessions. A datagram from an unknown address starts a handshake only after a stateless cookie exchange
/// (RFC 6347 HelloVerifyRequest), and only for a PSK identity of a live TLS session; anything else is counted and
/// dropped without state. At most <see cref="MaxConcurrentHandshakes"/> handshakes run at once. One receive thread
/// takes up to 32 datagrams (with UDP GRO: 8 coalesced messages, split back into datagrams) per <c>recvmmsg</c>,
/// each with its own source address (<see cref="UdpBatch"/>; one <c>ReceiveFrom</c> per datagram where batching is
/// unavailable).
/// </summary>
internal sealed partial class DtlsListener : IDisposable
{
    private const int MaxConcurrentHandshakes = 64;

    private readonly Socket _socket;
    private readonly TlsCrypto _crypto = SteerDtlsPeers.CreateCrypto();
    private readonly DtlsVerifier _verifier;
    private readonly ConcurrentDictionary<SocketAddress, PeerDatagramTransport> _peers = new();
    private readonly Func<string, GatewaySession?> _findSession;
    private readonly ILogger _logger;
    private readonly UdpBatchOptions _batching;
    private const int MaxProbeLength = 64;
    private const int MaxProbesPerSecond = 2000;

    private int _handshakes;
    private long _probeSecond;
    private int _probesThisSecond;
    private long _probesAnswered;
    private long _datagrams;
    private UdpBatch? _receive;
    private long _dropped;
    private readonly DtlsRecordCounters _records = new();

    /// <param name="endPoint">Where to bind (the TLS listener's address and port).</param>
    /// <param name="findSession">Finds the live session of a PSK identity (session id).</param>
    /// <param name="logger">Logger.</param>
    /// <param name="batching">UDP batching options; null: <see cref="UdpBatchOptions.Default"/>.</param>
    public DtlsListener(IPEndPoint endPoint, Func<string, GatewaySession?> findSession, ILogger logger, UdpBatchOptions? batching = null)
    {
        _findSession = findSession;
        _logger = logger;
        batching ??= UdpBatchOptions.Default;
        _batching = batching.Logger is null ? batching with { Logger = logger } : batching;
        _verifier = new DtlsVerifier(_crypto);
        _socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            _socket.DualMode = true;
        }

        _socket.ReceiveBufferSize = 8 * 1024 * 1024;
        _socket.SendBufferSize = 8 * 1024 * 1024;
        UdpPathMtu.ProbeMode(_socket);
        _socket.Bind(endPoint);
    }

    /// <summary>UDP datagrams received.</summary>
    public long Datagrams => Interlocked.Read(ref _datagrams);

    /// <summary>Of <see cref="Datagrams"/>, those that arrived coalesced by UDP GRO (split again by the receive batch).</summary>
    public long GroDatagrams => Volatile.Read(ref _receive)?.GroSegments ?? 0;

    /// <summary>The bound UDP endpoint.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Latency probes answered.</summary>
    public long ProbesAnswered => Interlocked.Read(ref _probesAnswered);

    /// <summary>Datagrams dropped before reaching a session: unknown senders, garbage, failed handshakes, full queues.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Datagrams of established DTLS peers that their record guards dropped (garbage, replays, failed authentication).</summary>
    public DtlsRecordCounters Records => _records;

    /// <summary>Runs the receive thread until <paramref name="ct"/> fires or the listener is disposed.</summary>
    public Task RunAsync(CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                ReceiveLoop(ct);
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        })
        { IsBackground = true, Name = "dtls-listener" };
        thread.Start();
        return done.Task;
    }

    private void ReceiveLoop(CancellationToken ct)
    {
        var batch = new UdpBatch(_socket, _batching, withAddresses: true);
        Volatile.Write(ref _receive, batch);
        Span<byte> probe = stackalloc byte[MaxProbeLength];
        while (!ct.IsCancellationRequested)
        {
            int count;
            try
            {
                count = batch.Receive(250);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                LogReceiveFailed(_logger, ex.Message);
                continue;
            }

            Interlocked.Add(ref _datagrams, count);
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> datagram = batch.Datagram(i);
                SocketAddress from = batch.Source(i);
                if (datagram.IsEmpty)
                {
                    Interlocked.Increment(ref _dropped); // empty, or truncated (larger than a slot)
                    continue;
                }

                if (datagram.Length is >= 4 and <= MaxProbeLength && datagram.StartsWith("STP1"u8))
                {
                    datagram.CopyTo(probe);
                    AnswerProbe(probe[..datagram.Length], from);
                    continue;
                }

                if (_peers.TryGetValue(from, out PeerDatagramTransport? peer))
                {
                    if (!peer.Deliver(datagram))
                    {
                        Interlocked.Increment(ref _dropped);
                    }

                    continue;
                }

                StartHandshakeIfValid(from, datagram);
            }
        }
    }

    /// <summary>
    /// Latency probe (docs/selection.md): echoed without any handshake, the magic changed to <c>STP2</c>, at most
    /// <see cref="MaxProbesPerSecond"/> answers a second in total so the gateway cannot be used as a reflector
    /// (the answer is never larger than the probe).
    /// </summary>
    private void AnswerProbe(Span<byte> datagram, SocketAddress from)
    {
        long second = Environment.TickCount64 / 1000;
        if (second != Volatile.Read(ref _probeSecond))
        {
            Volatile.Write(ref _probeSecond, second);
            Volatile.Write(ref _probesThisSecond, 0);
        }

        if (Interlocked.Increment(ref _probesThisSecond) > MaxProbesPerSecond)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        "STP2"u8.CopyTo(datagram);
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, from);
            Interlocked.Increment(ref _probesAnswered);
        }
        catch (SocketException)
        {
        }
    }

    private void StartHandshakeIfValid(SocketAddress from, ReadOnlySpan<byte> datagram)
    {
        // Cheap filter first: a DTLS 1.x handshake record (content type 22, version 254.x) or nothing.
        if (datagram.Length < 25 || datagram[0] != 22 || datagram[1] != 254 || Volatile.Read(ref _handshakes) >= MaxConcurrentHandshakes)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        SocketAddress remote = new(from.Family, from.Size);
        from.Buffer.CopyTo(remote.Buffer);
        var sender = new PeerDatagramTransport(_socket, remote, DtlsConnector.PathMtu, _batching, new DtlsRecordGuard(_records));
        byte[] copy = datagram.ToArray();
        DtlsRequest? request = _verifier.VerifyRequest(remote.Buffer[..remote.Size].ToArray(), copy, 0, copy.Length, sender);
        if (request is null)
        {
            // Not delivered to any session: either a stateless HelloVerifyRequest went back, or it was not a
            // ClientHello at all.
            Interlocked.Increment(ref _dropped);
            return;
        }

        if (!_peers.TryAdd(remote, sender))
        {
            return;
        }

        Interlocked.Increment(ref _handshakes);
        var thread = new Thread(() => Handshake(sender, request)) { IsBackground = true, Name = "dtls-handshake" };
        thread.Start();
    }

    private void Handshake(PeerDatagramTransport transport, DtlsRequest request)
    {
        GatewaySession? session = null;
        try
        {
            var server = new SteerDtlsPeers.Server(_crypto, identity =>
            {
                session = _findSession(Encoding.UTF8.GetString(identity));
                return session?.DtlsKey;
            }, 10_000);
            DtlsTransport dtls = new DtlsServerProtocol().Accept(server, transport, request);
            transport.Guard.MinimumProtectedBody = SteerDtlsPeers.MinimumProtectedBody(server.NegotiatedCipherSuite);
            if (session is null || session.IsClosed)
            {
                dtls.Close();
                throw new IOException("session ended during the DTLS handshake");
            }

            session.AttachDtls(dtls, transport, () => Forget(transport));
            LogAttached(_logger, session.Id, transport.Remote.ToString());
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ArgumentException)
        {
            Interlocked.Increment(ref _dropped);
            LogHandshakeFailed(_logger, ex.Message);
            Forget(transport);
        }
        finally
        {
            Interlocked.Decrement(ref _handshakes);
        }
    }

    private void Forget(PeerDatagramTransport transport)
    {
        transport.Close();
        _peers.TryRemove(new KeyValuePair<SocketAddress, PeerDatagramTransport>(transport.Remote, transport));
    }

    public void Dispose()
    {
        foreach (PeerDatagramTransport peer in _peers.Values)
        {
            peer.Close();
        }

        _socket.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "UDP receive failed: {Error}")]
    private static partial void LogReceiveFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {Id}: DTLS data channel up from {Remote}")]
    private static partial void LogAttached(ILogger logger, string id, string remote);

    [LoggerMessage(Level = LogLevel.Information, Message = "DTLS handshake failed: {Error}")]
    private static partial void LogHandshakeFailed(ILogger logger, string error);
}
