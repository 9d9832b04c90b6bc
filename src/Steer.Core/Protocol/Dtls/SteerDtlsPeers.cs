using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Steer.Protocol.Dtls;

/// <summary>
/// BouncyCastle DTLS 1.2 peers for Steer's data channel: ECDHE-PSK with AEAD suites only, keyed by the one-time
/// pre-shared key the gateway handed out inside the authenticated TLS session (so no second login), corrupt
/// records ignored rather than fatal (a forged datagram must not end the session).
/// </summary>
internal static class SteerDtlsPeers
{
    /// <summary>Suites in order of preference: both forward-secret (ECDHE) and AEAD.</summary>
    internal static readonly int[] CipherSuites =
    [
        CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>
    /// The smallest body a protected record (epoch 1 and later) can have with <paramref name="cipherSuite"/>: explicit
    /// nonce plus tag (AES-GCM 8 + 16, ChaCha20-Poly1305 0 + 16); 16 when not known. BouncyCastle answers a shorter one
    /// with a fatal decode_error even when corrupt records are ignored, so <see cref="DtlsRecordGuard"/> drops them first.
    /// </summary>
    public static int MinimumProtectedBody(int cipherSuite) =>
        cipherSuite == CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256 ? 24 : 16;

    /// <summary>
    /// A fresh crypto provider (thread-safe): BouncyCastle's, with the record ciphers in native code
    /// (<see cref="SteerTlsCrypto"/>).
    /// </summary>
    public static TlsCrypto CreateCrypto() => new SteerTlsCrypto(new SecureRandom());

    /// <summary>Client side.</summary>
    internal sealed class Client(TlsCrypto crypto, byte[] identity, byte[] key, int handshakeTimeoutMillis, int[]? suites = null)
        : PskTlsClient(crypto, identity, key)
    {
        public override bool IgnoreCorruptDtlsRecords => true;

        /// <summary>The suite the handshake chose; -1 before.</summary>
        public int NegotiatedCipherSuite => m_context?.SecurityParameters?.CipherSuite ?? -1;

        public override int GetHandshakeTimeoutMillis() => handshakeTimeoutMillis;

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, suites ?? CipherSuites);
    }

    /// <summary>Gateway side; <paramref name="keys"/> maps a PSK identity to its key (or null: unknown).</summary>
    internal sealed class Server(TlsCrypto crypto, Func<byte[], byte[]?> keys, int handshakeTimeoutMillis)
        : PskTlsServer(crypto, new IdentityManager(keys))
    {
        public override bool IgnoreCorruptDtlsRecords => true;

        /// <summary>The suite the handshake chose; -1 before.</summary>
        public int NegotiatedCipherSuite => m_context?.SecurityParameters?.CipherSuite ?? -1;

        public override int GetHandshakeTimeoutMillis() => handshakeTimeoutMillis;

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, CipherSuites);

        /// <summary>The identity the client presented, once the handshake has read it.</summary>
        public byte[]? PresentedIdentity => ((IdentityManager)m_pskIdentityManager).LastIdentity;

        private sealed class IdentityManager(Func<byte[], byte[]?> keys) : TlsPskIdentityManager
        {
            public byte[]? LastIdentity { get; private set; }

            public byte[]? GetHint() => null;

            public byte[]? GetPsk(byte[] identity)
            {
                LastIdentity = identity;
                return keys(identity);
            }
        }
    }
}
