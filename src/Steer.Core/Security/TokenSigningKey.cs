using System.Security.Cryptography;

namespace Steer.Security;

/// <summary>
/// Creates, exports and imports the ECDSA P-256 key pair that signs client tokens: the private key stays with the
/// token issuer, the gateway only gets the public key.
/// </summary>
public static class TokenSigningKey
{
    private const string P256Oid = "1.2.840.10045.3.1.7";

    /// <summary>Creates a new P-256 signing key.</summary>
    /// <returns>The key; the caller disposes it.</returns>
    public static ECDsa Create() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>Exports the private key as unencrypted PKCS#8 PEM (<c>-----BEGIN PRIVATE KEY-----</c>).</summary>
    /// <param name="key">A P-256 key with its private part.</param>
    /// <returns>The PEM text.</returns>
    public static string ExportPrivateKeyPem(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <summary>Exports the public key as SubjectPublicKeyInfo PEM (<c>-----BEGIN PUBLIC KEY-----</c>).</summary>
    /// <param name="key">A P-256 key.</param>
    /// <returns>The PEM text.</returns>
    public static string ExportPublicKeyPem(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.ExportSubjectPublicKeyInfoPem();
    }

    /// <summary>Imports a P-256 private key from PEM (PKCS#8 <c>PRIVATE KEY</c> or SEC1 <c>EC PRIVATE KEY</c>).</summary>
    /// <param name="pem">The PEM text.</param>
    /// <returns>The key; the caller disposes it.</returns>
    /// <exception cref="CryptographicException">The text is not a P-256 private key in PEM.</exception>
    public static ECDsa ImportPrivateKeyPem(string pem) => Import(pem, expectPrivate: true);

    /// <summary>Imports a P-256 public key from SubjectPublicKeyInfo PEM (<c>PUBLIC KEY</c>).</summary>
    /// <param name="pem">The PEM text.</param>
    /// <returns>The key; the caller disposes it.</returns>
    /// <exception cref="CryptographicException">
    /// The text is not a P-256 public key in PEM (a private key is refused too: the gateway needs only the public key).
    /// </exception>
    public static ECDsa ImportPublicKeyPem(string pem) => Import(pem, expectPrivate: false);

    /// <summary>Returns whether the key is on the P-256 curve, the only curve ES256 allows.</summary>
    internal static bool IsP256(ECDsa key)
    {
        try
        {
            ECCurve curve = key.ExportParameters(includePrivateParameters: false).Curve;
            return curve.IsNamed && (curve.Oid.Value == P256Oid || curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256" or "prime256v1" or "secp256r1");
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Throws unless the key is a P-256 key.</summary>
    internal static void ThrowIfNotP256(ECDsa key, string paramName)
    {
        ArgumentNullException.ThrowIfNull(key, paramName);
        if (!IsP256(key))
        {
            throw new ArgumentException("The token signing key must be an ECDSA P-256 key (ES256).", paramName);
        }
    }

    private static ECDsa Import(string pem, bool expectPrivate)
    {
        ArgumentNullException.ThrowIfNull(pem);
        string expected = expectPrivate ? "an EC 'PRIVATE KEY' or 'EC PRIVATE KEY'" : "a 'PUBLIC KEY'";
        if (!PemEncoding.TryFind(pem, out PemFields fields))
        {
            throw new CryptographicException($"The token signing key is not PEM: expected {expected} block.");
        }

        string label = pem[fields.Label].ToString();
        bool isPrivate = label is "PRIVATE KEY" or "EC PRIVATE KEY";
        bool isPublic = label is "PUBLIC KEY";
        if (expectPrivate ? !isPrivate : !isPublic)
        {
            string hint = !expectPrivate && isPrivate ? " The gateway needs only the public key: export it with the issuer's public key command." : string.Empty;
            throw new CryptographicException($"The token signing key PEM is a '{label}' block: expected {expected} block.{hint}");
        }

        ECDsa key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (!IsP256(key))
            {
                throw new CryptographicException("The token signing key must be an ECDSA P-256 key (ES256).");
            }

            return key;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw ex as CryptographicException ?? new CryptographicException($"The token signing key PEM is invalid: {ex.Message}", ex);
        }
    }
}
