using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Steer.Security;

/// <summary>
/// Computes and checks certificate key pins of the form <c>sha256/</c> followed by the base64 SHA-256 of the
/// certificate's DER-encoded SubjectPublicKeyInfo (the HPKP pin format).
/// </summary>
/// <remarks>
/// The same pin can be computed from the shell with
/// <c>openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64</c>.
/// A pin identifies the key, not the certificate, so a certificate renewed with the same key keeps its pin.
/// </remarks>
public static class CertificatePin
{
    /// <summary>The prefix every pin starts with: <c>sha256/</c>.</summary>
    public const string Prefix = "sha256/";

    /// <summary>The length of a valid pin: the prefix and 44 base64 characters.</summary>
    public const int Length = 7 + 44;

    /// <summary>
    /// A description of the pin format, used in error messages: what a valid pin looks like.
    /// </summary>
    public const string FormatDescription =
        "must be 'sha256/' followed by the base64 SHA-256 of the certificate's SubjectPublicKeyInfo (44 characters)";

    /// <summary>Computes the pin of a certificate's public key.</summary>
    /// <param name="certificate">The certificate.</param>
    /// <returns>The pin, for example <c>sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</c>.</returns>
    public static string Compute(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return FromSubjectPublicKeyInfo(certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>Computes the pin of a DER-encoded SubjectPublicKeyInfo.</summary>
    /// <param name="subjectPublicKeyInfo">The DER bytes of the SubjectPublicKeyInfo structure.</param>
    /// <returns>The pin.</returns>
    public static string FromSubjectPublicKeyInfo(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(subjectPublicKeyInfo, hash);
        return Prefix + Convert.ToBase64String(hash);
    }

    /// <summary>
    /// Returns whether <paramref name="pin"/> is a well-formed pin: <c>sha256/</c> followed by the canonical
    /// base64 encoding (44 characters, with padding) of 32 bytes.
    /// </summary>
    /// <param name="pin">The text to check; may be null.</param>
    /// <returns>True when the pin is well formed.</returns>
    public static bool IsValidFormat([NotNullWhen(true)] string? pin)
    {
        if (pin is null || pin.Length != Length || !pin.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        ReadOnlySpan<char> encoded = pin.AsSpan(Prefix.Length);
        foreach (char c in encoded)
        {
            bool isBase64Char = c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '+' or '/' or '=';
            if (!isBase64Char)
            {
                return false;
            }
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        if (!Convert.TryFromBase64Chars(encoded, hash, out int written) || written != hash.Length)
        {
            return false;
        }

        // Reject non-canonical encodings (unused low bits set), which would decode but never compare equal.
        Span<char> canonical = stackalloc char[44];
        return Convert.TryToBase64Chars(hash, canonical, out int charsWritten)
            && charsWritten == canonical.Length
            && canonical.SequenceEqual(encoded);
    }
}
