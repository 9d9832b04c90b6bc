using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Steer.Security;

/// <summary>
/// Creates, saves and loads a gateway's TLS identity: a self-signed ECDSA P-256 certificate whose key pin
/// (<see cref="CertificatePin"/>) is published in the tenant configuration. Used by <c>steer gateway init</c>.
/// </summary>
/// <remarks>
/// Files are PEM: the certificate as <c>CERTIFICATE</c>, the key as unencrypted PKCS#8 <c>PRIVATE KEY</c>
/// (written with mode 0600 on Unix).
/// </remarks>
public static class GatewayIdentity
{
    /// <summary>How long a certificate made by <see cref="CreateSelfSigned"/> is valid: two years (730 days).</summary>
    public static readonly TimeSpan Validity = TimeSpan.FromDays(730);

    // Backdating NotBefore tolerates clients whose clock is a little behind.
    private static readonly TimeSpan s_backdate = TimeSpan.FromHours(1);

    /// <summary>Creates a self-signed ECDSA P-256 server certificate with its private key.</summary>
    /// <param name="commonName">The subject common name (CN), for example the gateway name.</param>
    /// <param name="subjectAlternativeNames">
    /// IP addresses and DNS names for the SubjectAlternativeName extension; entries that parse as IP addresses
    /// become IP entries, the others DNS names. When null or empty, the common name is used if it is a host name
    /// or an IP address.
    /// </param>
    /// <param name="time">The clock; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <returns>
    /// A certificate valid from one hour ago for <see cref="Validity"/>, with a private key usable as an
    /// <see cref="System.Net.Security.SslStream"/> server certificate.
    /// </returns>
    /// <exception cref="ArgumentException">The common name is empty or an alternative name is not a valid host name.</exception>
    public static X509Certificate2 CreateSelfSigned(string commonName, IEnumerable<string>? subjectAlternativeNames = null, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        time ??= TimeProvider.System;

        List<string> names = subjectAlternativeNames?.ToList() ?? [];
        if (names.Count == 0 && (IPAddress.TryParse(commonName, out _) || Uri.CheckHostName(commonName) == UriHostNameType.Dns))
        {
            names.Add(commonName);
        }

        var san = new SubjectAlternativeNameBuilder();
        foreach (string name in names)
        {
            if (IPAddress.TryParse(name, out IPAddress? address))
            {
                san.AddIpAddress(address);
            }
            else if (Uri.CheckHostName(name) == UriHostNameType.Dns)
            {
                san.AddDnsName(name);
            }
            else
            {
                throw new ArgumentException($"Subject alternative name '{name}' is neither an IP address nor a DNS name.", nameof(subjectAlternativeNames));
            }
        }

        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + EscapeDistinguishedNameValue(commonName)), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        if (names.Count > 0)
        {
            request.CertificateExtensions.Add(san.Build());
        }

        DateTimeOffset now = time.GetUtcNow();
        DateTimeOffset notBefore = now - s_backdate;
        using X509Certificate2 created = request.CreateSelfSigned(notBefore, notBefore + Validity);
        return MakeUsableForTls(created);
    }

    /// <summary>Exports the certificate as PEM (<c>-----BEGIN CERTIFICATE-----</c>).</summary>
    /// <param name="certificate">The certificate.</param>
    /// <returns>The PEM text.</returns>
    public static string ExportCertificatePem(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.ExportCertificatePem();
    }

    /// <summary>Exports the certificate's ECDSA private key as unencrypted PKCS#8 PEM (<c>-----BEGIN PRIVATE KEY-----</c>).</summary>
    /// <param name="certificate">A certificate with an ECDSA private key.</param>
    /// <returns>The PEM text.</returns>
    /// <exception cref="ArgumentException">The certificate has no ECDSA private key.</exception>
    public static string ExportPrivateKeyPem(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using ECDsa key = certificate.GetECDsaPrivateKey()
            ?? throw new ArgumentException("The certificate has no ECDSA private key.", nameof(certificate));
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <summary>Combines a PEM certificate and its PEM private key into a certificate usable as a TLS server certificate.</summary>
    /// <param name="certificatePem">The certificate PEM.</param>
    /// <param name="privateKeyPem">The private key PEM (PKCS#8 <c>PRIVATE KEY</c> or SEC1 <c>EC PRIVATE KEY</c>).</param>
    /// <returns>The certificate with its private key.</returns>
    /// <exception cref="CryptographicException">The PEM is invalid or the key does not belong to the certificate.</exception>
    public static X509Certificate2 ImportPem(string certificatePem, string privateKeyPem)
    {
        ArgumentNullException.ThrowIfNull(certificatePem);
        ArgumentNullException.ThrowIfNull(privateKeyPem);
        using X509Certificate2 combined = X509Certificate2.CreateFromPem(certificatePem, privateKeyPem);
        return MakeUsableForTls(combined);
    }

    /// <summary>Writes the certificate and its private key as PEM files; the key file gets mode 0600 on Unix.</summary>
    /// <param name="certificate">A certificate with an ECDSA private key.</param>
    /// <param name="certificatePath">Where to write the certificate.</param>
    /// <param name="privateKeyPath">Where to write the private key.</param>
    /// <param name="overwrite">Whether to replace existing files; when false an existing file is an error.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>A task that completes when both files are written.</returns>
    /// <exception cref="IOException">A file exists and <paramref name="overwrite"/> is false, or the write failed.</exception>
    public static async Task SavePemFilesAsync(X509Certificate2 certificate, string certificatePath, string privateKeyPath, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        ArgumentException.ThrowIfNullOrEmpty(privateKeyPath);
        string certificatePem = ExportCertificatePem(certificate);
        string keyPem = ExportPrivateKeyPem(certificate);

        if (!overwrite)
        {
            foreach (string path in (string[])[certificatePath, privateKeyPath])
            {
                if (File.Exists(path))
                {
                    throw new IOException($"'{Path.GetFullPath(path)}' already exists; refusing to overwrite it.");
                }
            }
        }

        await WriteFileAsync(privateKeyPath, keyPem, isSecret: true, cancellationToken).ConfigureAwait(false);
        await WriteFileAsync(certificatePath, certificatePem, isSecret: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads a certificate and its private key from PEM files.</summary>
    /// <param name="certificatePath">The certificate PEM file.</param>
    /// <param name="privateKeyPath">The private key PEM file.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The certificate with its private key, usable as an <see cref="System.Net.Security.SslStream"/> server certificate.</returns>
    /// <exception cref="FileNotFoundException">A file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file is not valid PEM or the key does not match the certificate; the message names the files.</exception>
    public static async Task<X509Certificate2> LoadPemFilesAsync(string certificatePath, string privateKeyPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        ArgumentException.ThrowIfNullOrEmpty(privateKeyPath);
        string certificatePem = await ReadFileAsync(certificatePath, "certificate", cancellationToken).ConfigureAwait(false);
        string keyPem = await ReadFileAsync(privateKeyPath, "private key", cancellationToken).ConfigureAwait(false);
        try
        {
            return ImportPem(certificatePem, keyPem);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new InvalidDataException(
                $"Could not load the gateway identity from '{Path.GetFullPath(certificatePath)}' and '{Path.GetFullPath(privateKeyPath)}': " +
                $"they must be a PEM certificate and its PEM private key ({ex.Message})", ex);
        }
    }

    // On Linux, SslStream servers accept the key of CreateSelfSigned/CreateFromPem directly, but on Windows an
    // ephemeral key cannot be used by SChannel: a PKCS#12 round trip gives a certificate usable everywhere.
    private static X509Certificate2 MakeUsableForTls(X509Certificate2 certificate)
    {
        byte[] pkcs12 = certificate.Export(X509ContentType.Pkcs12);
        try
        {
            X509KeyStorageFlags flags = X509KeyStorageFlags.Exportable |
                (OperatingSystem.IsLinux() ? X509KeyStorageFlags.EphemeralKeySet : X509KeyStorageFlags.DefaultKeySet);
            return X509CertificateLoader.LoadPkcs12(pkcs12, password: null, flags);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs12);
        }
    }

    private static string EscapeDistinguishedNameValue(string value)
    {
        // RFC 4514 escaping of the characters that have a meaning in a distinguished name.
        var builder = new System.Text.StringBuilder(value.Length + 4);
        foreach (char c in value)
        {
            if (c is ',' or '+' or '"' or '\\' or '<' or '>' or ';' or '=')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    private static async Task WriteFileAsync(string path, string contents, bool isSecret, CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (isSecret && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(path, options);
        await using (stream.ConfigureAwait(false))
        {
            if (isSecret && !OperatingSystem.IsWindows())
            {
                // UnixCreateMode applies only to new files: tighten an existing one too.
                File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            var writer = new StreamWriter(stream);
            await using (writer.ConfigureAwait(false))
            {
                await writer.WriteAsync(contents.AsMemory(), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task<string> ReadFileAsync(string path, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException(
                $"The gateway {what} file '{Path.GetFullPath(path)}' does not exist. Create one with 'steer gateway init'.", path, ex);
        }
    }
}
