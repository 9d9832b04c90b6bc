using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Steer.Security;

/// <summary>
/// Validates a TLS server certificate against a set of key pins, replacing PKI trust: a certificate is accepted
/// if and only if its pin (see <see cref="CertificatePin"/>) is in the set, whatever its chain, name or dates.
/// </summary>
/// <remarks>
/// Use one instance per connection attempt. It records the pin the server presented, so that after
/// <see cref="SslStream.AuthenticateAsClientAsync(SslClientAuthenticationOptions, CancellationToken)"/> fails the
/// caller can tell a pin mismatch from other TLS failures:
/// <code>
/// var validator = new PinValidator(gateway.Pins);
/// options.RemoteCertificateValidationCallback = validator.CreateCallback();
/// try { await ssl.AuthenticateAsClientAsync(options, ct); }
/// catch (AuthenticationException ex) when (validator.IsMismatch)
/// {
///     throw PinMismatchException.ForGateway(gateway, validator.PresentedPin!, ex);
/// }
/// </code>
/// </remarks>
public sealed class PinValidator
{
    private readonly HashSet<string> _pins;
    private volatile string? _presentedPin;
    private volatile bool _mismatch;

    /// <summary>Creates a validator that accepts certificates whose pin is one of <paramref name="expectedPins"/>.</summary>
    /// <param name="expectedPins">The accepted pins; at least one, each well formed.</param>
    /// <exception cref="ArgumentException">The set is empty or a pin is not well formed.</exception>
    public PinValidator(IEnumerable<string> expectedPins)
    {
        ArgumentNullException.ThrowIfNull(expectedPins);
        string[] pins = expectedPins.ToArray();
        if (pins.Length == 0)
        {
            throw new ArgumentException("At least one certificate key pin is required.", nameof(expectedPins));
        }

        foreach (string pin in pins)
        {
            if (!CertificatePin.IsValidFormat(pin))
            {
                throw new ArgumentException($"Certificate key pin '{pin}' {CertificatePin.FormatDescription}.", nameof(expectedPins));
            }
        }

        ExpectedPins = pins.AsReadOnly();
        _pins = new HashSet<string>(pins, StringComparer.Ordinal);
    }

    /// <summary>The accepted pins.</summary>
    public IReadOnlyList<string> ExpectedPins { get; }

    /// <summary>The pin of the last certificate the server presented, or null when none was presented yet.</summary>
    public string? PresentedPin => _presentedPin;

    /// <summary>True when the server presented a certificate and it was refused because its pin is not expected.</summary>
    public bool IsMismatch => _mismatch;

    /// <summary>Creates the callback to set as <see cref="SslClientAuthenticationOptions.RemoteCertificateValidationCallback"/>.</summary>
    /// <returns>A callback that calls <see cref="Validate(X509Certificate?)"/> and ignores the policy errors.</returns>
    public RemoteCertificateValidationCallback CreateCallback() =>
        (_, certificate, _, _) => Validate(certificate);

    /// <summary>Checks a certificate, records its pin and returns whether it is accepted.</summary>
    /// <param name="certificate">The certificate the server presented; null when it presented none.</param>
    /// <returns>True when the certificate's pin is one of the expected pins.</returns>
    public bool Validate(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        string pin;
        if (certificate is X509Certificate2 certificate2)
        {
            pin = CertificatePin.Compute(certificate2);
        }
        else
        {
            using X509Certificate2 copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            pin = CertificatePin.Compute(copy);
        }

        bool accepted = _pins.Contains(pin);
        _presentedPin = pin;
        _mismatch = !accepted;
        return accepted;
    }
}
