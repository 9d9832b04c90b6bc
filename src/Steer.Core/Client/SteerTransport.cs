namespace Steer;

/// <summary>Which transport carries the data (the TLS connection always stays up as control channel).</summary>
public enum SteerTransport
{
    /// <summary>DTLS while it works, TLS when it does not, back to DTLS when it works again.</summary>
    Auto,

    /// <summary>DTLS only for data (no fallback).</summary>
    Dtls,

    /// <summary>TLS only; no UDP is sent.</summary>
    Tls,
}
