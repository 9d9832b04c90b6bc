namespace Steer.Security;

/// <summary>A client token was refused. <see cref="Reason"/> says why; the message says it in words.</summary>
public class TokenValidationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TokenValidationException()
        : this(TokenValidationFailure.Malformed, "The token is not valid.")
    {
    }

    /// <summary>Creates the exception with a message; the reason is <see cref="TokenValidationFailure.Malformed"/>.</summary>
    /// <param name="message">The message.</param>
    public TokenValidationException(string message)
        : this(TokenValidationFailure.Malformed, message)
    {
    }

    /// <summary>Creates the exception with a message and cause; the reason is <see cref="TokenValidationFailure.Malformed"/>.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public TokenValidationException(string message, Exception? innerException)
        : this(TokenValidationFailure.Malformed, message, innerException)
    {
    }

    /// <summary>Creates the exception with a reason and message.</summary>
    /// <param name="reason">Why the token was refused.</param>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, if any.</param>
    public TokenValidationException(TokenValidationFailure reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Why the token was refused.</summary>
    public TokenValidationFailure Reason { get; }
}
