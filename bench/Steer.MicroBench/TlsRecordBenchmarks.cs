using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Steer.MicroBench.Infrastructure;

namespace Steer.MicroBench;

/// <summary>
/// TLS record encryption and decryption: a client <see cref="SslStream"/> writes, a server <see cref="SslStream"/>
/// reads the same bytes back, over an in-memory duplex pipe (no socket, no kernel), with the session's settings:
/// TLS 1.3, ALPN <c>steer/1</c>, a self-signed ECDSA P-256 certificate like the gateway's. One operation is one write
/// of <see cref="WriteSize"/> bytes: 1,400 (one full-MTU packet, so Allocated is bytes per packet) or 64 KiB (what a
/// batched send or a TUN super-packet with offloads hands to TLS; SslStream splits it into 16 KiB records).
/// </summary>
[MemoryDiagnoser]
public class TlsRecordBenchmarks
{
    private SslStream? _client;
    private SslStream? _server;
    private X509Certificate2? _certificate;
    private byte[] _payload = [];
    private byte[] _readBuffer = [];

    [Params(1400, 65536)]
    public int WriteSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payload = new byte[WriteSize];
        RandomNumberGenerator.Fill(_payload);
        _readBuffer = new byte[Math.Max(WriteSize, 16 * 1024)];
        _certificate = CreateCertificate();
        (MemoryDuplexStream clientEnd, MemoryDuplexStream serverEnd) = MemoryDuplexStream.CreatePair();
        _client = new SslStream(clientEnd, leaveInnerStreamOpen: false);
        _server = new SslStream(serverEnd, leaveInnerStreamOpen: false);
        var alpn = new List<SslApplicationProtocol> { new("steer/1") };
        Task server = _server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = _certificate,
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = alpn,
        });
        Task client = _client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = string.Empty,
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = alpn,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        Task.WhenAll(server, client).WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
    }

    /// <summary>Encrypts <see cref="WriteSize"/> bytes on the client and decrypts them on the server.</summary>
    [Benchmark]
    public async ValueTask<int> EncryptAndDecrypt()
    {
        await _client!.WriteAsync(_payload);
        int total = 0;
        while (total < _payload.Length)
        {
            int read = await _server!.ReadAsync(_readBuffer);
            if (read == 0)
            {
                throw new InvalidOperationException("the TLS pipe closed");
            }

            total += read;
        }

        return total;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client?.Dispose();
        _server?.Dispose();
        _certificate?.Dispose();
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=steer-microbench", key, HashAlgorithmName.SHA256);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }
}
