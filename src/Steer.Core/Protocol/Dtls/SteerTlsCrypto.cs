using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Steer.Protocol.Dtls;

/// <summary>
/// BouncyCastle's TLS crypto with the two record ciphers Steer's DTLS suites use (AES-128-GCM, ChaCha20-Poly1305)
/// replaced by <see cref="SystemAeadCipher"/>: native AEAD from the platform instead of managed code. Everything else
/// (ECDHE, PRF, PSK) is BouncyCastle's. Falls back to BouncyCastle's own ciphers where the platform lacks them.
/// </summary>
internal sealed class SteerTlsCrypto(SecureRandom random) : BcTlsCrypto(random)
{
    protected override TlsAeadCipher CreateCipher_Aes_Gcm(TlsCryptoParameters cryptoParams, int cipherKeySize, int macSize)
    {
        if (!SystemAeadCipher.IsSupported || macSize != 16)
        {
            return base.CreateCipher_Aes_Gcm(cryptoParams, cipherKeySize, macSize);
        }

        return new TlsAeadCipher(cryptoParams, new SystemAeadCipher(isChaCha: false, isEncrypting: true),
            new SystemAeadCipher(isChaCha: false, isEncrypting: false), cipherKeySize, macSize, TlsAeadCipher.AEAD_GCM);
    }

    protected override TlsCipher CreateChaCha20Poly1305(TlsCryptoParameters cryptoParams)
    {
        if (!SystemAeadCipher.IsSupported)
        {
            return base.CreateChaCha20Poly1305(cryptoParams);
        }

        return new TlsAeadCipher(cryptoParams, new SystemAeadCipher(isChaCha: true, isEncrypting: true),
            new SystemAeadCipher(isChaCha: true, isEncrypting: false), 32, 16, TlsAeadCipher.AEAD_CHACHA20_POLY1305);
    }
}
