namespace Steer.Lab;

/// <summary>
/// A lab operation failed: a missing prerequisite, a failed <c>ip</c> command, or a lab process that exited or
/// timed out. The message says what failed and, for commands, includes their output.
/// </summary>
public class LabException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LabException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public LabException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public LabException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
