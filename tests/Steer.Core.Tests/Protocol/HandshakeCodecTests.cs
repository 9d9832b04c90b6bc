using System.Text;
using Steer.Protocol;

namespace Steer.Core.Tests.Protocol;

public class HandshakeCodecTests
{
    [Fact]
    public void Hello_round_trips()
    {
        var hello = new ClientHello { Tenant = "acme", Token = "t.o.k", DeviceId = "dev-1", RequestedIpv4 = "100.64.0.7" };

        byte[] payload = HandshakeCodec.EncodeHello(hello);

        Assert.Equal(FrameCodec.ProtocolVersion, payload[0]);
        Assert.Equal(hello, HandshakeCodec.DecodeHello(payload));
    }

    [Fact]
    public void Welcome_round_trips()
    {
        var welcome = new ServerWelcome
        {
            SessionId = "abc",
            GatewayName = "gw",
            Ipv4 = "100.64.0.2/24",
            Ipv6 = "fd53::2/64",
            DnsServers = ["100.64.0.1"],
            Mtu = 1400,
            KeepaliveSeconds = 10,
        };

        ServerWelcome decoded = HandshakeCodec.DecodeWelcome(HandshakeCodec.EncodeWelcome(welcome));

        Assert.Equal(welcome.Ipv4, decoded.Ipv4);
        Assert.Equal(welcome.Ipv6, decoded.Ipv6);
        Assert.Equal(welcome.DnsServers, decoded.DnsServers);
        Assert.Equal(1400, decoded.Mtu);
        Assert.Equal(10, decoded.KeepaliveSeconds);
    }

    [Fact]
    public void Unknown_version_is_reported_with_both_versions()
    {
        byte[] payload = HandshakeCodec.EncodeHello(new ClientHello { Tenant = "a", Token = "t", DeviceId = "d" });
        payload[0] = 2;

        var error = Assert.Throws<UnsupportedVersionException>(() => HandshakeCodec.DecodeHello(payload));
        Assert.Equal(2, error.Version);
        Assert.Contains("version 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("version 1", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{not json")]
    [InlineData("null")]
    [InlineData("{\"tenant\":\"a\"}")]
    [InlineData("[1,2,3]")]
    public void Malformed_hello_is_a_protocol_error(string json)
    {
        byte[] payload = [FrameCodec.ProtocolVersion, .. Encoding.UTF8.GetBytes(json)];

        Assert.Throws<SteerProtocolException>(() => HandshakeCodec.DecodeHello(payload));
    }

    [Fact]
    public void Empty_payload_is_a_protocol_error()
        => Assert.Throws<SteerProtocolException>(() => HandshakeCodec.DecodeHello([]));

    [Fact]
    public void Error_frames_decode_and_garbage_errors_do_not_throw()
    {
        ErrorMessage error = HandshakeCodec.DecodeError(HandshakeCodec.EncodeError(GatewayErrorCodes.AuthenticationFailed, "token rejected"));
        Assert.Equal("auth-failed", error.Code);
        Assert.Equal("token rejected", error.Message);

        Assert.Equal(GatewayErrorCodes.ProtocolError, HandshakeCodec.DecodeError("\u0001garbage"u8).Code);
    }
}
