using System.Runtime.InteropServices;

namespace Steer.Cli;

/// <summary>
/// Keeps .NET from loading the system's trusted root certificates on Linux when no TLS connection of the process
/// needs them: every peer <c>steer up</c> talks TLS to is then accepted by key pin alone (the gateways always; the
/// configuration server when <c>--config-pin</c> is given or the configuration is a local file).
/// </summary>
/// <remarks>
/// <para>
/// <c>SslStream</c> builds an X.509 chain for every server certificate before it calls the validation callback, and
/// on Linux the first chain build loads the whole system store — <c>/etc/ssl/certs/ca-certificates.crt</c> and every
/// file in <c>/etc/ssl/certs</c>, some 300 certificates parsed — about 90 ms of <c>steer up</c>'s start on the lab
/// machine, more than everything else together. The pin check (<see cref="Security.PinValidator"/>) ignores that
/// chain's verdict, so for pinned peers the work is wasted: skipping it changes no decision.
/// </para>
/// <para>
/// How: .NET takes the store's locations from OpenSSL's documented <c>SSL_CERT_FILE</c> and <c>SSL_CERT_DIR</c>
/// variables when it first loads the store. <see cref="SkipWhenEveryPeerIsPinned"/> sets both to empty in the native
/// environment, before the first TLS connection and before the program starts threads of its own (setenv is not
/// thread-safe). They stay so for the life of the process: <c>steer up</c> starts no other programs, and no connection
/// of it uses system trust. Should a .NET version read them again later, the only effect would be the full store
/// loaded then: a cost, never a different trust decision.
/// </para>
/// </remarks>
internal static partial class SystemTrustStore
{
    /// <summary>
    /// When <paramref name="everyPeerPinned"/> and on Linux: points the system store at nothing. Call before the process's
    /// first TLS connection and before starting other threads.
    /// </summary>
    /// <returns>True when the store was pointed at nothing.</returns>
    public static bool SkipWhenEveryPeerIsPinned(bool everyPeerPinned)
        => everyPeerPinned && OperatingSystem.IsLinux() && SetEnv("SSL_CERT_FILE", "", 1) == 0 && SetEnv("SSL_CERT_DIR", "", 1) == 0;

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
