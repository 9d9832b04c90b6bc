using System.Security.Authentication;
using Steer.Configuration;

namespace Steer.Security;

/// <summary>
/// A TLS peer presented a certificate whose key pin is not one of the expected pins. The connection was refused.
/// </summary>
public class PinMismatchException : AuthenticationException
{
    /// <summary>Creates the exception.</summary>
    public PinMismatchException()
        : this("The server's certificate key pin is not one of the expected pins. Refusing to connect.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public PinMismatchException(string message)
        : base(message)
    {
        ExpectedPins = [];
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, usually the <see cref="AuthenticationException"/> of the handshake.</param>
    public PinMismatchException(string message, Exception? innerException)
        : base(message, innerException)
    {
        ExpectedPins = [];
    }

    /// <summary>Creates the exception with a message, the expected pins and the pin the peer presented.</summary>
    /// <param name="message">The message.</param>
    /// <param name="expectedPins">The pins that would have been accepted.</param>
    /// <param name="presentedPin">The pin of the certificate the peer presented.</param>
    /// <param name="innerException">The cause, usually the <see cref="AuthenticationException"/> of the handshake.</param>
    public PinMismatchException(string message, IReadOnlyList<string> expectedPins, string presentedPin, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(expectedPins);
        ArgumentNullException.ThrowIfNull(presentedPin);
        ExpectedPins = expectedPins.ToArray().AsReadOnly();
        PresentedPin = presentedPin;
    }

    /// <summary>The pins that would have been accepted; empty when unknown.</summary>
    public IReadOnlyList<string> ExpectedPins { get; }

    /// <summary>The pin of the certificate the peer presented, or null when unknown.</summary>
    public string? PresentedPin { get; }

    /// <summary>
    /// Creates the exception for a gateway of the tenant configuration, with the message
    /// "Gateway 'lab-1' (198.18.1.1:443) presented certificate key pin sha256/…, which is not in the tenant
    /// configuration (expected sha256/…). Refusing to connect."
    /// </summary>
    /// <param name="gateway">The gateway the client tried to connect to.</param>
    /// <param name="presentedPin">The pin of the certificate the gateway presented.</param>
    /// <param name="innerException">The cause, usually the <see cref="AuthenticationException"/> of the handshake.</param>
    /// <returns>The exception, to throw.</returns>
    public static PinMismatchException ForGateway(GatewayEndpoint gateway, string presentedPin, Exception? innerException = null)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(presentedPin);
        string message =
            $"Gateway '{gateway.Name}' ({gateway.HostAndPort}) presented certificate key pin {presentedPin}, " +
            $"which is not in the tenant configuration (expected {DescribePins(gateway.Pins)}). Refusing to connect.";
        return new PinMismatchException(message, gateway.Pins, presentedPin, innerException);
    }

    /// <summary>Formats a pin list for a message: "a", or "one of a, b".</summary>
    internal static string DescribePins(IReadOnlyList<string> pins) => pins.Count switch
    {
        0 => "no pin",
        1 => pins[0],
        _ => "one of " + string.Join(", ", pins),
    };
}
