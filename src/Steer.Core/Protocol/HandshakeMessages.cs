using System.Text.Json;
using System.Text.Json.Serialization;

namespace Steer.Protocol;

/// <summary>The client's Hello: who it is and what it would like.</summary>
internal sealed record ClientHello
{
    public required string Tenant { get; init; }

    public required string Token { get; init; }

    public required string DeviceId { get; init; }

    public string? ClientVersion { get; init; }

    /// <summary>Inner IPv4 address the client had before (reconnect); the gateway grants it when free.</summary>
    public string? RequestedIpv4 { get; init; }

    /// <summary>Inner IPv6 address the client had before (reconnect).</summary>
    public string? RequestedIpv6 { get; init; }
}

/// <summary>The gateway's Welcome: the session's parameters.</summary>
internal sealed record ServerWelcome
{
    public required string SessionId { get; init; }

    public required string GatewayName { get; init; }

    /// <summary>Inner IPv4 address with prefix, e.g. <c>100.64.0.2/24</c>.</summary>
    public required string Ipv4 { get; init; }

    /// <summary>Inner IPv6 address with prefix, or null when the gateway has no IPv6 pool.</summary>
    public string? Ipv6 { get; init; }

    public IReadOnlyList<string> DnsServers { get; init; } = [];

    public required int Mtu { get; init; }

    public required int KeepaliveSeconds { get; init; }

    /// <summary>The DTLS data channel on offer, or null when the gateway offers TLS only.</summary>
    public DtlsOffer? Dtls { get; init; }
}

/// <summary>
/// How to open the DTLS data channel: UDP port, and a one-time PSK identity and key that only this TLS session
/// knows (so DTLS needs no second login).
/// </summary>
internal sealed record DtlsOffer
{
    public required int Port { get; init; }

    /// <summary>PSK identity (UTF-8 text).</summary>
    public required string Identity { get; init; }

    /// <summary>32-byte key, base64.</summary>
    public required string Key { get; init; }
}

/// <summary>An error either side sends before closing.</summary>
internal sealed record ErrorMessage(string Code, string Message);

/// <summary>Encodes and decodes handshake payloads: one version byte followed by UTF-8 JSON.</summary>
internal static class HandshakeCodec
{
    public static byte[] EncodeHello(ClientHello hello) => Encode(hello, HandshakeJsonContext.Default.ClientHello);

    public static byte[] EncodeWelcome(ServerWelcome welcome) => Encode(welcome, HandshakeJsonContext.Default.ServerWelcome);

    public static byte[] EncodeError(string code, string message)
        => JsonSerializer.SerializeToUtf8Bytes(new ErrorMessage(code, message), HandshakeJsonContext.Default.ErrorMessage);

    /// <exception cref="UnsupportedVersionException">The peer speaks another protocol version.</exception>
    /// <exception cref="SteerProtocolException">The payload is not a valid Hello.</exception>
    public static ClientHello DecodeHello(ReadOnlySpan<byte> payload) => Decode(payload, HandshakeJsonContext.Default.ClientHello, "Hello");

    public static ServerWelcome DecodeWelcome(ReadOnlySpan<byte> payload) => Decode(payload, HandshakeJsonContext.Default.ServerWelcome, "Welcome");

    public static ErrorMessage DecodeError(ReadOnlySpan<byte> payload)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, HandshakeJsonContext.Default.ErrorMessage)
                ?? new ErrorMessage(GatewayErrorCodes.ProtocolError, "empty error frame");
        }
        catch (JsonException)
        {
            return new ErrorMessage(GatewayErrorCodes.ProtocolError, "unreadable error frame");
        }
    }

    private static byte[] Encode<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(value, info);
        byte[] payload = new byte[json.Length + 1];
        payload[0] = FrameCodec.ProtocolVersion;
        json.CopyTo(payload, 1);
        return payload;
    }

    private static T Decode<T>(ReadOnlySpan<byte> payload, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info, string what)
    {
        if (payload.IsEmpty)
        {
            throw new SteerProtocolException($"Empty {what} frame; it must start with the protocol version byte.");
        }

        if (payload[0] != FrameCodec.ProtocolVersion)
        {
            throw new UnsupportedVersionException(payload[0]);
        }

        try
        {
            return JsonSerializer.Deserialize(payload[1..], info)
                ?? throw new SteerProtocolException($"{what} frame holds JSON null.");
        }
        catch (JsonException ex)
        {
            throw new SteerProtocolException($"{what} frame is not valid: {ex.Message}", ex);
        }
    }
}

/// <summary>The peer announced a protocol version this implementation does not speak.</summary>
internal sealed class UnsupportedVersionException(byte version)
    : Exception($"Peer speaks tunnel protocol version {version}; this build supports version {FrameCodec.ProtocolVersion} only.")
{
    public byte Version { get; } = version;
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ClientHello))]
[JsonSerializable(typeof(ServerWelcome))]
[JsonSerializable(typeof(ErrorMessage))]
internal sealed partial class HandshakeJsonContext : JsonSerializerContext;
