using System.Net;
using System.Net.Sockets;
using System.Text;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Steer.Protocol.Dtls;

namespace Steer.Core.Tests.Protocol;

/// <summary>
/// The native record ciphers (<see cref="SystemAeadCipher"/> inside <see cref="SteerTlsCrypto"/>) against
/// BouncyCastle's own managed ones: a real DTLS handshake over loopback UDP with one side on each, records both ways.
/// </summary>
public sealed class SteerTlsCryptoTests
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)(i * 3)).ToArray();

    public static TheoryData<int, bool> Cases => new()
    {
        { CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256, true },
        { CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256, false },
        { CipherSuite.TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256, true },
        { CipherSuite.TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Native_and_managed_ciphers_interoperate_both_ways(int suite, bool nativeClient)
    {
        Assert.SkipUnless(SystemAeadCipher.IsSupported, "The platform has no native AES-GCM/ChaCha20-Poly1305.");
        using Socket a = Bound();
        using Socket b = Bound();
        a.Connect(b.LocalEndPoint!);
        b.Connect(a.LocalEndPoint!);
        TlsCrypto native = SteerDtlsPeers.CreateCrypto();
        TlsCrypto managed = new BcTlsCrypto(new SecureRandom());
        var client = new SteerDtlsPeers.Client(nativeClient ? native : managed, Encoding.UTF8.GetBytes("s"), Key, 10_000, [suite]);
        var server = new SteerDtlsPeers.Server(nativeClient ? managed : native, _ => Key, 10_000);

        Task<DtlsTransport> accept = Task.Run(() => new DtlsServerProtocol().Accept(server, new UdpDatagramTransport(b, 1500)), TestContext.Current.CancellationToken);
        DtlsTransport clientSide = await Task.Run(() => new DtlsClientProtocol().Connect(client, new UdpDatagramTransport(a, 1500)), TestContext.Current.CancellationToken);
        DtlsTransport serverSide = await accept;
        Assert.Equal(suite, client.NegotiatedCipherSuite);
        Assert.Equal(suite, server.NegotiatedCipherSuite);

        byte[] buffer = new byte[2000];
        foreach (int length in new[] { 0, 1, 15, 16, 17, 100, 1200, 1400 })
        {
            byte[] message = Enumerable.Range(0, length).Select(i => (byte)(i * 7 + length)).ToArray();
            clientSide.Send(message.AsSpan());
            int n = serverSide.Receive(buffer, 0, buffer.Length, 5000);
            Assert.Equal(message, buffer[..n]);

            serverSide.Send(message.AsSpan());
            n = clientSide.Receive(buffer, 0, buffer.Length, 5000);
            Assert.Equal(message, buffer[..n]);
        }

        clientSide.Close();
        serverSide.Close();
    }

    [Fact]
    public void Open_TamperedRecord_FailsAsBadRecordMac()
    {
        Assert.SkipUnless(SystemAeadCipher.IsSupported, "The platform has no native AES-GCM/ChaCha20-Poly1305.");
        byte[] key = new byte[16];
        byte[] nonce = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
        byte[] aad = [1, 2, 3];
        using var seal = new SystemAeadCipher(isChaCha: false, isEncrypting: true);
        using var open = new SystemAeadCipher(isChaCha: false, isEncrypting: false);
        seal.SetKey(key, 0, key.Length);
        open.SetKey(key, 0, key.Length);
        byte[] plain = Encoding.ASCII.GetBytes("steer record");
        byte[] record = new byte[seal.GetOutputSize(plain.Length)];
        seal.Init(nonce, 16, aad);
        Assert.Equal(plain.Length + 16, seal.DoFinal(plain, 0, plain.Length, record, 0));

        byte[] back = new byte[plain.Length];
        open.Init(nonce, 16, aad);
        Assert.Equal(plain.Length, open.DoFinal(record, 0, record.Length, back, 0));
        Assert.Equal(plain, back);

        // Additional data given to DoFinal is appended to Init's, as BouncyCastle's own implementation does.
        open.Init(nonce, 16, [1]);
        Assert.Equal(plain.Length, open.DoFinal([2, 3], record, 0, record.Length, back, 0));

        record[3] ^= 1;
        open.Init(nonce, 16, aad);
        TlsFatalAlert alert = Assert.Throws<TlsFatalAlert>(() => open.DoFinal(record, 0, record.Length, back, 0));
        Assert.Equal(AlertDescription.bad_record_mac, alert.AlertDescription);
    }

    private static Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }
}
