using Steer.Configuration;
using Steer.Gateway;
using Steer.Protocol;
using Steer.Security;
using Steer.Tun;

namespace Steer.Cli.Commands;

/// <summary>Exit codes of <c>steer</c> (documented in README.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Error = 1;
    public const int Configuration = 2;
    public const int NotRunning = 3;
    public const int Permission = 4;
    public const int PinMismatch = 5;
    public const int Refused = 6;
    public const int Network = 7;

    /// <summary>Maps an expected failure to its exit code; null for bugs (which then surface with a stack trace).</summary>
    public static int? Classify(Exception ex) => ex switch
    {
        TenantConfigurationException or GatewayConfigurationException or ArgumentException => Configuration,
        PinMismatchException => PinMismatch,
        PeerErrorException => Refused,
        TunException { IsPermissionDenied: true } => Permission,
        TunException => Error,
        UnauthorizedAccessException => Permission,
        TokenValidationException => Configuration,
        System.Net.Sockets.SocketException or TimeoutException or IOException or SteerProtocolException => Network,
        InvalidOperationException => Error,
        _ => null,
    };
}
