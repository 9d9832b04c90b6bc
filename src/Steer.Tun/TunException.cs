namespace Steer.Tun;

/// <summary>An operating-system operation of Steer.Tun failed. The message names the operation and the OS error.</summary>
public class TunException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TunException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TunException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public TunException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The OS error number (errno on Linux), or 0 when not applicable.</summary>
    public int ErrorCode { get; init; }

    /// <summary>
    /// True when the failure is a missing privilege (EPERM/EACCES): the message then tells the user to run as root
    /// or to grant CAP_NET_ADMIN.
    /// </summary>
    public bool IsPermissionDenied { get; init; }
}
