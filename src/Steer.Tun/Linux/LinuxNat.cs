using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Steer.Tun.Linux;

/// <summary>
/// Forwarding and source NAT for a gateway that serves clients through a TUN device (Linux, nftables).
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Enable"/> turns on IP forwarding for each address family that has a client pool
/// (<c>net.ipv4.ip_forward</c>, <c>net.ipv6.conf.all.forwarding</c>) and installs the nftables table
/// <c>inet steer_&lt;name&gt;</c>: its postrouting chain masquerades traffic from the client pools that leaves through
/// any interface other than the TUN, its forward chain accepts that traffic and its replies, and clamps the TCP MSS
/// of SYNs to and from the TUN to the route's MTU. <see cref="Dispose"/> deletes the table and restores the
/// previous forwarding settings.
/// </para>
/// <para>
/// nftables is driven through libnftables (package <c>nftables</c>), not by running the <c>nft</c> program.
/// Needs root: CAP_NET_ADMIN is enough for nftables but not for writing <c>/proc/sys</c>. Enabling IPv6 forwarding
/// makes Linux ignore router advertisements on interfaces with <c>accept_ra=1</c> until it is restored.
/// </para>
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed partial class LinuxNat : IDisposable
{
    private const string InstallHint = "install the nftables package (apt-get install nftables)";

    private readonly ILogger _logger;
    private readonly List<(string Path, string OldValue)> _sysctls;
    private int _disposed;

    private LinuxNat(string tableName, ILogger logger, List<(string Path, string OldValue)> sysctls)
    {
        TableName = tableName;
        _logger = logger;
        _sysctls = sysctls;
    }

    /// <summary>The nftables table this instance owns, in family <c>inet</c> (for example <c>steer_gw</c>).</summary>
    public string TableName { get; }

    /// <summary>Enables forwarding and NAT for the clients behind <paramref name="tunInterfaceName"/>.</summary>
    /// <param name="name">Names this instance's table <c>steer_&lt;name&gt;</c>: 1–32 letters, digits or '_'.
    /// A table of that name left by an earlier run is replaced.</param>
    /// <param name="tunInterfaceName">The TUN interface the clients' packets arrive on (see <see cref="ITunDevice.Name"/>).</param>
    /// <param name="clientPools">The clients' address pools (IPv4 and/or IPv6); at least one.</param>
    /// <param name="logger">Receives what was changed and undo failures.</param>
    /// <param name="tunnelMtu">When set, TCP SYNs from clients are clamped to an MSS that fits this MTU.</param>
    /// <returns>The active NAT; dispose it to remove the rules and restore the settings.</returns>
    /// <exception cref="ArgumentException">A name or pool is invalid.</exception>
    /// <exception cref="TunException">libnftables is missing, nftables refused the rules, or the forwarding settings
    /// could not be changed; <see cref="TunException.IsPermissionDenied"/> is set when privileges are missing.</exception>
    public static LinuxNat Enable(string name, string tunInterfaceName, IEnumerable<IPNetwork> clientPools, ILogger? logger = null, int? tunnelMtu = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(tunInterfaceName);
        ArgumentNullException.ThrowIfNull(clientPools);
        if (!NameRegex().IsMatch(name))
        {
            throw new ArgumentException($"NAT name '{name}' must be 1 to 32 letters, digits or '_'.", nameof(name));
        }

        if (!InterfaceNameRegex().IsMatch(tunInterfaceName))
        {
            throw new ArgumentException(
                $"'{tunInterfaceName}' is not a TUN interface name Steer accepts (1 to 15 letters, digits, '_', '-' or '.').",
                nameof(tunInterfaceName));
        }

        List<IPNetwork> pools = clientPools.ToList();
        if (pools.Count == 0)
        {
            throw new ArgumentException("At least one client pool is needed.", nameof(clientPools));
        }

        if (pools.Any(p => p.BaseAddress.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)))
        {
            throw new ArgumentException("Client pools must be IPv4 or IPv6 networks.", nameof(clientPools));
        }

        logger ??= NullLogger.Instance;
        string table = NftRuleset.TableName(name);
        string ruleset = NftRuleset.BuildEnable(table, tunInterfaceName, pools, tunnelMtu);

        var sysctls = new List<(string Path, string OldValue)>();
        var nat = new LinuxNat(table, logger, sysctls);
        try
        {
            if (pools.Any(p => p.BaseAddress.AddressFamily == AddressFamily.InterNetwork))
            {
                nat.SetSysctl(LinuxSysctl.Ipv4Forward, "1");
            }

            if (pools.Any(p => p.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6))
            {
                nat.SetSysctl(LinuxSysctl.Ipv6ForwardAll, "1");
            }

            Run(ruleset, $"install nftables table inet {table}");
        }
        catch
        {
            nat.RestoreSysctls();
            throw;
        }

        TunLog.NatEnabled(logger, table, string.Join(", ", pools), tunInterfaceName);
        return nat;
    }

    /// <summary>Deletes the nftables table and restores the forwarding settings. Never throws; failures are logged.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            Run(NftRuleset.BuildDisable(TableName), $"delete nftables table inet {TableName}");
            TunLog.NatDisabled(_logger, TableName);
        }
        catch (TunException e)
        {
            TunLog.NatCleanupFailed(_logger, e, TableName);
        }

        RestoreSysctls();
    }

    private void SetSysctl(string path, string value)
    {
        string old = LinuxSysctl.Read(path);
        if (old == value)
        {
            return;
        }

        LinuxSysctl.Write(path, value);
        _sysctls.Add((path, old));
        TunLog.SysctlChanged(_logger, path, old, value);
    }

    private void RestoreSysctls()
    {
        for (int i = _sysctls.Count - 1; i >= 0; i--)
        {
            (string path, string old) = _sysctls[i];
            try
            {
                LinuxSysctl.Write(path, old);
            }
            catch (TunException e)
            {
                TunLog.SysctlRestoreFailed(_logger, e, path, old);
            }
        }

        _sysctls.Clear();
    }

    /// <summary>Runs an nftables command buffer through libnftables, as one transaction.</summary>
    /// <exception cref="TunException">libnftables is missing or the commands failed.</exception>
    internal static void Run(string commands, string operation)
    {
        SafeNftContextHandle context;
        try
        {
            context = Interop.Nftables.nft_ctx_new(Interop.Nftables.NFT_CTX_DEFAULT);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new TunException($"Cannot {operation}: libnftables ({Interop.Libraries.Nftables}) is not available; {InstallHint}.", e);
        }

        using (context)
        {
            if (context.IsInvalid)
            {
                throw new TunException($"Cannot {operation}: libnftables could not create a context.");
            }

            Interop.Nftables.nft_ctx_buffer_output(context);
            Interop.Nftables.nft_ctx_buffer_error(context);
            int result = Interop.Nftables.nft_run_cmd_from_buffer(context, commands);
            int errno = Marshal.GetLastPInvokeError();
            if (result == 0)
            {
                return;
            }

            string error = (Marshal.PtrToStringUTF8(Interop.Nftables.nft_ctx_get_error_buffer(context)) ?? string.Empty).Trim();
            bool permission = error.Contains("Operation not permitted", StringComparison.Ordinal)
                || error.Contains("Permission denied", StringComparison.Ordinal);
            string detail = error.Length == 0 ? LinuxErrors.Text(errno) : error;
            if (permission)
            {
                throw new TunException(
                    $"Cannot {operation}: this needs root or CAP_NET_ADMIN. nftables said: {detail} {LinuxErrors.PrivilegeHint(Environment.ProcessPath)}")
                {
                    ErrorCode = LinuxErrors.EPERM,
                    IsPermissionDenied = true,
                };
            }

            throw new TunException($"Cannot {operation}. nftables said: {detail}") { ErrorCode = errno };
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_]{1,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,15}$", RegexOptions.CultureInvariant)]
    private static partial Regex InterfaceNameRegex();
}
