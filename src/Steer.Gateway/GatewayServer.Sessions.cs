using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Steer.Protocol;
using Steer.Protocol.Dtls;
using Steer.Security;
using Steer.Tun;

namespace Steer.Gateway;

/// <summary>Per-client handshake and the forwarding between sessions and the TUN.</summary>
public sealed partial class GatewayServer
{
    private async Task ServeClientAsync(Socket socket, CancellationToken ct)
    {
        string remote = socket.RemoteEndPoint?.ToString() ?? "?";
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        GatewaySession? session = null;
        try
        {
            using (var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                handshakeTimeout.CancelAfter(HandshakeTimeout);
                session = await HandshakeAsync(ssl, remote, handshakeTimeout.Token).ConfigureAwait(false);
            }

            if (session is null)
            {
                return;
            }

            try
            {
                TunPacketWriter? writer = NewTunWriter();
                session.TlsTunWriter = writer;
                await session.Connection.RunAsync(
                    (packet, token) => FromClientAsync(session, writer, packet, token), token => FlushToTunAsync(writer, token), ct).ConfigureAwait(false);
                LogSessionEnded(_logger, session.Id, session.User, session.Connection.CloseReason ?? "closed");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSessionEnded(_logger, session.Id, session.User, ex.Message);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Interlocked.Increment(ref _handshakeFailures);
            LogHandshakeFailed(_logger, remote, "handshake timed out");
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException or SteerProtocolException)
        {
            Interlocked.Increment(ref _handshakeFailures);
            LogHandshakeFailed(_logger, remote, ex.Message);
        }
        finally
        {
            if (session is not null)
            {
                Unregister(session);
                await session.Connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>TLS, Hello, token check, address lease, Welcome. Returns null when the client was refused.</summary>
    private async Task<GatewaySession?> HandshakeAsync(SslStream ssl, string remote, CancellationToken ct)
    {
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = _certificate,
            ApplicationProtocols = [new SslApplicationProtocol(FrameCodec.Alpn)],
            EnabledSslProtocols = SslProtocols.Tls13,
            ClientCertificateRequired = false,
        }, ct).ConfigureAwait(false);

        var reader = new FrameReader(ssl, 128 * 1024);
        Frame first = await reader.ReadAsync(ct).ConfigureAwait(false)
            ?? throw new SteerProtocolException("client closed before Hello");
        if (first.Type != FrameType.Hello)
        {
            await RefuseAsync(ssl, GatewayErrorCodes.ProtocolError, $"expected a Hello frame first, got {first.Type}", ct).ConfigureAwait(false);
            throw new SteerProtocolException($"client sent {first.Type} before Hello");
        }

        ClientHello hello;
        try
        {
            hello = HandshakeCodec.DecodeHello(first.Payload.Span);
        }
        catch (UnsupportedVersionException ex)
        {
            await RefuseAsync(ssl, GatewayErrorCodes.UnsupportedVersion, ex.Message, ct).ConfigureAwait(false);
            throw new SteerProtocolException(ex.Message);
        }
        catch (SteerProtocolException ex)
        {
            await RefuseAsync(ssl, GatewayErrorCodes.ProtocolError, ex.Message, ct).ConfigureAwait(false);
            throw;
        }

        TokenClaims claims;
        try
        {
            if (!string.Equals(hello.Tenant, _options.Tenant, StringComparison.Ordinal))
            {
                throw new TokenValidationException(TokenValidationFailure.WrongTenant, $"this gateway serves tenant '{_options.Tenant}', not '{hello.Tenant}'");
            }

            claims = _tokens.Validate(hello.Token, _options.Tenant, DateTimeOffset.UtcNow);
        }
        catch (TokenValidationException ex)
        {
            Interlocked.Increment(ref _authFailures);
            LogAuthFailed(_logger, remote, hello.DeviceId, ex.Message);
            await RefuseAsync(ssl, GatewayErrorCodes.AuthenticationFailed, $"token rejected: {ex.Message}", ct).ConfigureAwait(false);
            return null;
        }

        if (string.IsNullOrWhiteSpace(hello.DeviceId) || hello.DeviceId.Length > 128)
        {
            await RefuseAsync(ssl, GatewayErrorCodes.ProtocolError, "deviceId must be 1-128 characters", ct).ConfigureAwait(false);
            throw new SteerProtocolException("bad device id");
        }

        if (!_pool.TryLease(hello.DeviceId, hello.RequestedIpv4, out AddressPool.Lease lease))
        {
            await RefuseAsync(ssl, GatewayErrorCodes.PoolExhausted, $"all {_pool.InUse} inner addresses are in use", ct).ConfigureAwait(false);
            return null;
        }

        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var connection = new TunnelConnection(ssl, reader, _options.Mtu, TimeSpan.FromSeconds(_options.KeepaliveSeconds), 4096, _logger);
        var session = new GatewaySession(id, claims.Subject, hello.DeviceId, remote, lease, connection, _options.Mtu, NewDtlsInlet, _logger);
        var welcome = new ServerWelcome
        {
            SessionId = id,
            GatewayName = _options.Name,
            Ipv4 = lease.IPv4.ToString(),
            Ipv6 = lease.IPv6?.ToString(),
            DnsServers = _dnsServers,
            Mtu = _options.Mtu,
            KeepaliveSeconds = _options.KeepaliveSeconds,
            Dtls = _dtls is null || LocalEndPoint is null
                ? null
                : new DtlsOffer { Port = LocalEndPoint.Port, Identity = id, Key = Convert.ToBase64String(session.DtlsKey) },
        };
        await WriteFrameAsync(ssl, FrameType.Welcome, HandshakeCodec.EncodeWelcome(welcome), ct).ConfigureAwait(false);

        Register(session);
        Interlocked.Increment(ref _accepted);
        LogSessionStarted(_logger, id, claims.Subject, remote, lease.IPv4.ToString(), lease.IPv6?.ToString() ?? "-");
        return session;
    }

    private static async Task RefuseAsync(SslStream ssl, string code, string message, CancellationToken ct)
    {
        try
        {
            await WriteFrameAsync(ssl, FrameType.Error, HandshakeCodec.EncodeError(code, message), ct).ConfigureAwait(false);
            await ssl.ShutdownAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client is gone; nothing to tell.
        }
    }

    private static async Task WriteFrameAsync(SslStream ssl, FrameType type, byte[] payload, CancellationToken ct)
    {
        await ssl.WriteAsync(FrameCodec.Encode(type, payload), ct).ConfigureAwait(false);
        await ssl.FlushAsync(ct).ConfigureAwait(false);
    }

    private void Register(GatewaySession session)
    {
        // A device that reconnects before its old session timed out takes its address over.
        if (_byIPv4.TryGetValue(session.Lease.IPv4Key, out GatewaySession? old))
        {
            Unregister(old);
            _ = old.Connection.FailAsync(GatewayErrorCodes.Timeout, "replaced by a newer session of the same device").AsTask();
        }

        _sessions[session.Id] = session;
        _byIPv4[session.Lease.IPv4Key] = session;
        if (session.Lease.IPv6 is not null)
        {
            _byIPv6[session.Lease.IPv6Key] = session;
        }
    }

    private void Unregister(GatewaySession session)
    {
        if (!_sessions.TryRemove(session.Id, out _))
        {
            return;
        }

        session.Close();

        _byIPv4.TryRemove(new KeyValuePair<uint, GatewaySession>(session.Lease.IPv4Key, session));
        if (session.Lease.IPv6 is not null)
        {
            _byIPv6.TryRemove(new KeyValuePair<UInt128, GatewaySession>(session.Lease.IPv6Key, session));
        }

        _pool.Release(session.Lease, session.DeviceId);
    }

    private async Task CloseAllSessionsAsync()
    {
        foreach (GatewaySession session in _sessions.Values)
        {
            await session.Connection.FailAsync(GatewayErrorCodes.ShuttingDown, "gateway is shutting down").ConfigureAwait(false);
        }
    }

    /// <summary>A writer of one receive loop's packets to the TUN (merging TCP segments where the TUN takes them).</summary>
    private TunPacketWriter? NewTunWriter() => _device is { } device ? new TunPacketWriter(device) : null;

    /// <summary>The packet path of a new DTLS channel: its own writer, flushed when the channel's queue runs dry.</summary>
    private PacketInlet NewDtlsInlet(GatewaySession session)
    {
        TunPacketWriter? writer = NewTunWriter();
        return new PacketInlet(packet => FromClientOverDtls(session, writer, packet), () => Wait(FlushToTunAsync(writer, CancellationToken.None)), writer);
    }

    private ValueTask FlushToTunAsync(TunPacketWriter? writer, CancellationToken ct)
        => writer is null ? ValueTask.CompletedTask : Completed(writer.FlushAsync(ct));

    /// <summary>A packet from a client: checked against the session's addresses, then written to the TUN.</summary>
    private ValueTask FromClientAsync(GatewaySession session, TunPacketWriter? writer, ReadOnlyMemory<byte> packet, CancellationToken ct)
    {
        ReadOnlySpan<byte> span = packet.Span;
        bool valid = IpPacket.GetVersion(span) switch
        {
            4 => IpPacket.GetIPv4Source(span) == session.Lease.IPv4Key,
            6 => session.Lease.IPv6 is not null && IpPacket.GetIPv6Source(span) == session.Lease.IPv6Key,
            _ => Count(ref _malformed),
        };
        if (!valid)
        {
            if (IpPacket.GetVersion(span) != 0)
            {
                Interlocked.Increment(ref _spoofed);
            }

            return ValueTask.CompletedTask;
        }

        if (writer is null || writer.Device != _device)
        {
            return ValueTask.CompletedTask;
        }

        Interlocked.Increment(ref _toTun);
        return Completed(writer.WriteAsync(packet, ct));
    }

    private ValueTask Completed(ValueTask write)
    {
        return write.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitWrite(write);

        async ValueTask AwaitWrite(ValueTask pending)
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (TunException)
            {
                Interlocked.Increment(ref _malformed);
            }
        }
    }

    /// <summary>A packet from the client's DTLS channel (its receive thread): same checks as over TLS.</summary>
    private void FromClientOverDtls(GatewaySession session, TunPacketWriter? writer, ReadOnlyMemory<byte> packet)
        => Wait(FromClientAsync(session, writer, packet, CancellationToken.None));

    /// <summary>The TUN write completes synchronously unless the kernel queue is full; then this thread waits for it.</summary>
    private static void Wait(ValueTask write)
    {
        if (!write.IsCompletedSuccessfully)
        {
            write.AsTask().GetAwaiter().GetResult();
        }
    }

    private static bool Count(ref long counter)
    {
        Interlocked.Increment(ref counter);
        return false;
    }

    /// <summary>Reads packets from the TUN and hands each to the session that holds its destination.</summary>
    private async Task PumpFromTunAsync(ITunDevice device, CancellationToken ct)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(Math.Max(device.Mtu, 1500) + 64);
        while (!ct.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await device.ReadAsync(buffer, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (TunException ex)
            {
                LogTunReadFailed(_logger, ex.Message);
                await Task.Delay(100, ct).ConfigureAwait(false);
                continue;
            }

            ReadOnlySpan<byte> packet = buffer.AsSpan(0, length);
            GatewaySession? session = IpPacket.GetVersion(packet) switch
            {
                4 => _byIPv4.GetValueOrDefault(IpPacket.GetIPv4Destination(packet)),
                6 => _byIPv6.GetValueOrDefault(IpPacket.GetIPv6Destination(packet)),
                _ => null,
            };
            if (session is null)
            {
                Interlocked.Increment(ref _noSession);
                continue;
            }

            if (session.SendToClient(packet))
            {
                Interlocked.Increment(ref _fromTun);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway {Name} listening on {EndPoint}, TUN {Interface}, key pin {Pin}")]
    private static partial void LogListening(ILogger logger, string name, string endPoint, string @interface, string pin);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {Id} up: user {User} from {Remote}, inner {IPv4} {IPv6}")]
    private static partial void LogSessionStarted(ILogger logger, string id, string user, string remote, string ipv4, string ipv6);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {Id} ({User}) ended: {Reason}")]
    private static partial void LogSessionEnded(ILogger logger, string id, string user, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Remote} (device {DeviceId}): {Reason}")]
    private static partial void LogAuthFailed(ILogger logger, string remote, string deviceId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Handshake with {Remote} failed: {Reason}")]
    private static partial void LogHandshakeFailed(ILogger logger, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Accept failed: {Error}")]
    private static partial void LogAcceptFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TUN read failed: {Error}")]
    private static partial void LogTunReadFailed(ILogger logger, string error);
}
