using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl;

namespace Steer.Protocol.Dtls;

/// <summary>
/// BouncyCastle's AEAD record-cipher interface implemented with .NET's <see cref="AesGcm"/> and
/// <see cref="ChaCha20Poly1305"/> (OpenSSL underneath: AES-NI, vectorised ChaCha20/Poly1305), so the DTLS data path
/// seals and opens its records in native code instead of BouncyCastle's managed block ciphers, which cost most of the
/// DTLS channel's CPU. The record layer, handshake and key schedule stay BouncyCastle's; only this primitive changes.
/// </summary>
/// <remarks>
/// BouncyCastle 2.7 calls <see cref="Init"/> with the nonce and the record's additional data, then one
/// <c>DoFinal</c> whose optional first argument is more additional data (appended); the output of sealing is the
/// ciphertext followed by the tag, as its own GCM/ChaCha20-Poly1305 modes write it. A failed tag check throws
/// <see cref="TlsFatalAlert"/> bad_record_mac, which the DTLS peers ignore (<c>IgnoreCorruptDtlsRecords</c>).
/// One instance serves one direction of one session, used by one thread at a time (BouncyCastle's record layer
/// serialises its sends, and receives on one thread). Nothing is allocated per record.
/// </remarks>
internal sealed class SystemAeadCipher : TlsAeadCipherImpl, IDisposable
{
    private const int TagSize = 16;
    private const int MaxAdditionalData = 64;

    private readonly bool _isChaCha;
    private readonly bool _isEncrypting;
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _additionalData = new byte[MaxAdditionalData];
    private AesGcm? _aes;
    private ChaCha20Poly1305? _chaCha;
    private int _additionalLength;
    private int _nonceLength;

    /// <param name="isChaCha">ChaCha20-Poly1305 instead of AES-GCM.</param>
    /// <param name="isEncrypting">True: seals records; false: opens them.</param>
    public SystemAeadCipher(bool isChaCha, bool isEncrypting)
    {
        _isChaCha = isChaCha;
        _isEncrypting = isEncrypting;
    }

    /// <summary>True when the platform's cryptography provides both ciphers (OpenSSL 1.1+ on Linux, macOS, Windows 10+).</summary>
    public static bool IsSupported => AesGcm.IsSupported && ChaCha20Poly1305.IsSupported;

    public void SetKey(byte[] key, int keyOff, int keyLen) => SetKey(key.AsSpan(keyOff, keyLen));

    public void SetKey(ReadOnlySpan<byte> key)
    {
        Dispose();
        if (_isChaCha)
        {
            _chaCha = new ChaCha20Poly1305(key);
        }
        else
        {
            _aes = new AesGcm(key, TagSize);
        }
    }

    public void Init(byte[] nonce, int macSize, byte[] additionalData)
    {
        if (macSize != TagSize || nonce.Length != _nonce.Length)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error);
        }

        nonce.CopyTo(_nonce, 0);
        _nonceLength = nonce.Length;
        _additionalLength = 0;
        AppendAdditionalData(additionalData);
    }

    public int GetOutputSize(int inputLength) => _isEncrypting ? inputLength + TagSize : Math.Max(0, inputLength - TagSize);

    public int DoFinal(byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset) =>
        DoFinal(null, input, inputOffset, inputLength, output, outputOffset);

    public int DoFinal(byte[]? additionalData, byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset)
    {
        AppendAdditionalData(additionalData);
        ReadOnlySpan<byte> nonce = _nonce.AsSpan(0, _nonceLength);
        ReadOnlySpan<byte> aad = _additionalData.AsSpan(0, _additionalLength);
        ReadOnlySpan<byte> source = input.AsSpan(inputOffset, inputLength);
        if (_isEncrypting)
        {
            // The input and output may be the same buffer at the same offset: AesGcm/ChaCha20Poly1305 allow that.
            Span<byte> ciphertext = output.AsSpan(outputOffset, inputLength);
            Span<byte> tag = output.AsSpan(outputOffset + inputLength, TagSize);
            if (_chaCha is { } chaCha)
            {
                chaCha.Encrypt(nonce, source, ciphertext, tag, aad);
            }
            else
            {
                Aes.Encrypt(nonce, source, ciphertext, tag, aad);
            }

            return inputLength + TagSize;
        }

        if (inputLength < TagSize)
        {
            throw new TlsFatalAlert(AlertDescription.bad_record_mac);
        }

        int plainLength = inputLength - TagSize;
        try
        {
            if (_chaCha is { } chaCha)
            {
                chaCha.Decrypt(nonce, source[..plainLength], source[plainLength..], output.AsSpan(outputOffset, plainLength), aad);
            }
            else
            {
                Aes.Decrypt(nonce, source[..plainLength], source[plainLength..], output.AsSpan(outputOffset, plainLength), aad);
            }
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new TlsFatalAlert(AlertDescription.bad_record_mac, ex);
        }

        return plainLength;
    }

    public void Reset()
    {
        _additionalLength = 0;
    }

    public void Dispose()
    {
        _aes?.Dispose();
        _chaCha?.Dispose();
        _aes = null;
        _chaCha = null;
    }

    private AesGcm Aes => _aes ?? throw new TlsFatalAlert(AlertDescription.internal_error);

    private void AppendAdditionalData(byte[]? data)
    {
        if (data is null || data.Length == 0)
        {
            return;
        }

        if (_additionalLength + data.Length > MaxAdditionalData)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error);
        }

        data.CopyTo(_additionalData, _additionalLength);
        _additionalLength += data.Length;
    }
}
