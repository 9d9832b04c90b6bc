using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32;
using Steer.Tun.Windows;
using static Steer.Tun.Windows.Interop.NetIoConstants;

namespace Steer.Tun.Dns;

/// <summary>
/// Windows DNS: the tunnel interface's DNS servers (and search list) through SetInterfaceDnsSettings (Windows 10 2004
/// or later), plus one NRPT rule (HKLM\SYSTEM\CurrentControlSet\Services\Dnscache\Parameters\DnsPolicyConfig\{guid})
/// that sends the listed domains, or every name (<c>.</c>), to Steer's servers regardless of interface metrics.
/// Dispose puts the interface's previous settings back and deletes the rule.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class WindowsDnsConfigurator : IDnsConfigurator
{
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Guid _interfaceGuid;
    private SavedSettings? _savedIPv4;
    private SavedSettings? _savedIPv6;
    private bool _ruleWritten;
    private bool _disposed;
    private int _lastReadError;

    /// <summary>Creates the configurator; nothing changes until <see cref="Apply"/>.</summary>
    internal WindowsDnsConfigurator(ILogger? logger)
    {
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc/>
    public DnsBackend Backend => DnsBackend.WindowsNrpt;

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><see cref="DnsConfiguration.InterfaceIndex"/> is not set.</exception>
    /// <exception cref="NotSupportedException"><see cref="DnsConfiguration.Port"/> is not 53.</exception>
    public void Apply(DnsConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Validate(nameof(configuration));
        if (configuration.InterfaceIndex <= 0)
        {
            throw new ArgumentException("On Windows, DnsConfiguration.InterfaceIndex must name the tunnel interface.", nameof(configuration) + "." + nameof(DnsConfiguration.InterfaceIndex));
        }

        if (configuration.Port != DnsConfiguration.DefaultPort)
        {
            throw new NotSupportedException($"Windows interface DNS servers and NRPT rules are always reached on port 53, so port {configuration.Port} cannot be configured.");
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Guid guid = InterfaceGuid(configuration.InterfaceIndex);
            if (_savedIPv4 is null || guid != _interfaceGuid)
            {
                RestoreInterface();
                _interfaceGuid = guid;
                _savedIPv4 = Read(guid, ipv6: false) ?? throw WindowsErrors.OperationFailed($"read the IPv4 DNS settings of interface #{configuration.InterfaceIndex}", _lastReadError);
                _savedIPv6 = Read(guid, ipv6: true); // null when IPv6 is disabled on the interface
            }

            string search = WindowsDnsSettings.SearchList(configuration);
            Set(guid, ipv6: false, WindowsDnsSettings.NameServers(configuration, AddressFamily.InterNetwork), search, "set the IPv4 DNS servers of the tunnel interface");
            if (_savedIPv6 is not null)
            {
                Set(guid, ipv6: true, WindowsDnsSettings.NameServers(configuration, AddressFamily.InterNetworkV6), search, "set the IPv6 DNS servers of the tunnel interface");
            }
            WriteNrptRule(configuration);
            Interop.DnsApi.DnsFlushResolverCache();
            DnsLog.Applied(_logger, $"interface #{configuration.InterfaceIndex} and NRPT rule {WindowsDnsSettings.NrptRuleKeyName}", string.Join(", ", configuration.Servers));
        }
    }

    /// <summary>Deletes the NRPT rule and puts the interface's previous DNS settings back. Never throws.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            DeleteNrptRule();
            RestoreInterface();
            Interop.DnsApi.DnsFlushResolverCache();
        }
    }

    private void WriteNrptRule(DnsConfiguration configuration)
    {
        try
        {
            using RegistryKey rule = Registry.LocalMachine.CreateSubKey(WindowsDnsSettings.NrptKeyPath + "\\" + WindowsDnsSettings.NrptRuleKeyName, writable: true);
            rule.SetValue("Version", WindowsDnsSettings.NrptRuleVersion, RegistryValueKind.DWord);
            rule.SetValue("Name", WindowsDnsSettings.NrptNamespaces(configuration), RegistryValueKind.MultiString);
            rule.SetValue("GenericDNSServers", WindowsDnsSettings.NrptServers(configuration), RegistryValueKind.String);
            rule.SetValue("ConfigOptions", WindowsDnsSettings.NrptConfigOptionsGenericDnsServers, RegistryValueKind.DWord);
            rule.SetValue("IPSECCARestriction", string.Empty, RegistryValueKind.String);
            rule.SetValue("Comment", "Steer: names resolved through the tunnel", RegistryValueKind.String);
            _ruleWritten = true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or System.Security.SecurityException or IOException)
        {
            throw new TunException($"Cannot write the NRPT rule for Steer's DNS: {e.Message} {WindowsErrors.PrivilegeHint}", e)
            {
                IsPermissionDenied = e is UnauthorizedAccessException or System.Security.SecurityException,
            };
        }
    }

    private void DeleteNrptRule()
    {
        if (!_ruleWritten)
        {
            return;
        }

        try
        {
            Registry.LocalMachine.DeleteSubKeyTree(WindowsDnsSettings.NrptKeyPath + "\\" + WindowsDnsSettings.NrptRuleKeyName, throwOnMissingSubKey: false);
            DnsLog.Restored(_logger, "NRPT rule " + WindowsDnsSettings.NrptRuleKeyName);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or System.Security.SecurityException or IOException)
        {
            DnsLog.RestoreFailed(_logger, e, "NRPT rule " + WindowsDnsSettings.NrptRuleKeyName);
        }
    }

    private void RestoreInterface()
    {
        if (_savedIPv4 is not { } ipv4)
        {
            return;
        }

        try
        {
            Set(_interfaceGuid, ipv6: false, ipv4.NameServer, ipv4.SearchList, "restore the IPv4 DNS servers of the tunnel interface");
            if (_savedIPv6 is { } ipv6)
            {
                Set(_interfaceGuid, ipv6: true, ipv6.NameServer, ipv6.SearchList, "restore the IPv6 DNS servers of the tunnel interface");
            }

            DnsLog.Restored(_logger, $"DNS settings of interface {_interfaceGuid}");
        }
        catch (TunException e)
        {
            // The Wintun adapter is removed when the TUN device closes; then there is nothing left to restore.
            DnsLog.RestoreFailed(_logger, e, $"DNS settings of interface {_interfaceGuid}");
        }

        _savedIPv4 = null;
        _savedIPv6 = null;
    }

    private static Guid InterfaceGuid(int interfaceIndex)
    {
        Interop.NET_LUID luid;
        int error = Interop.IpHelper.ConvertInterfaceIndexToLuid((uint)interfaceIndex, &luid);
        if (error != 0)
        {
            throw WindowsErrors.OperationFailed($"find interface #{interfaceIndex}", error);
        }

        Guid guid;
        error = Interop.IpHelper.ConvertInterfaceLuidToGuid(&luid, &guid);
        if (error != 0)
        {
            throw WindowsErrors.OperationFailed($"find the GUID of interface #{interfaceIndex}", error);
        }

        return guid;
    }

    /// <summary>Reads one family's settings; null (with <see cref="_lastReadError"/> set) when Windows refuses.</summary>
    private SavedSettings? Read(Guid guid, bool ipv6)
    {
        Interop.DNS_INTERFACE_SETTINGS settings = default;
        settings.Version = DNS_INTERFACE_SETTINGS_VERSION1;
        settings.Flags = ipv6 ? DNS_SETTING_IPV6 : 0;
        int error = Interop.IpHelper.GetInterfaceDnsSettings(guid, &settings);
        if (error != 0)
        {
            _lastReadError = error;
            return null;
        }

        try
        {
            return new SavedSettings(
                Marshal.PtrToStringUni(settings.NameServer) ?? string.Empty,
                Marshal.PtrToStringUni(settings.SearchList) ?? string.Empty);
        }
        finally
        {
            Interop.IpHelper.FreeInterfaceDnsSettings(&settings);
        }
    }

    private static void Set(Guid guid, bool ipv6, string nameServers, string searchList, string what)
    {
        fixed (char* servers = nameServers)
        fixed (char* search = searchList)
        {
            Interop.DNS_INTERFACE_SETTINGS settings = default;
            settings.Version = DNS_INTERFACE_SETTINGS_VERSION1;
            settings.Flags = DNS_SETTING_NAMESERVER | DNS_SETTING_SEARCHLIST | (ipv6 ? DNS_SETTING_IPV6 : 0);
            settings.NameServer = (nint)servers;
            settings.SearchList = (nint)search;
            int error = Interop.IpHelper.SetInterfaceDnsSettings(guid, &settings);
            if (error != 0)
            {
                throw WindowsErrors.OperationFailed(what, error);
            }
        }
    }

    private sealed record SavedSettings(string NameServer, string SearchList);
}
