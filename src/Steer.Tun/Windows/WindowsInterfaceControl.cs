using System.Runtime.Versioning;
using static Steer.Tun.Windows.Interop.Errors;
using static Steer.Tun.Windows.Interop.NetIoConstants;

namespace Steer.Tun.Windows;

/// <summary>Per-family interface settings (MTU, metric) through Get/SetIpInterfaceEntry.</summary>
[SupportedOSPlatform("windows")]
internal static unsafe class WindowsInterfaceControl
{
    /// <summary>The IP Helper families, IPv4 first.</summary>
    internal static readonly ushort[] Families = [AF_INET, AF_INET6];

    /// <summary>Reads the settings of <paramref name="interfaceIndex"/> for <paramref name="family"/>.</summary>
    /// <returns>0, ERROR_NOT_FOUND when the family is disabled on the interface, or another Win32 error.</returns>
    internal static int TryGet(ushort family, int interfaceIndex, out Interop.MIB_IPINTERFACE_ROW row)
    {
        Interop.MIB_IPINTERFACE_ROW local;
        Interop.IpHelper.InitializeIpInterfaceEntry(&local);
        local.Family = family;
        local.InterfaceIndex = (uint)interfaceIndex;
        int error = Interop.IpHelper.GetIpInterfaceEntry(&local);
        row = local;
        return error;
    }

    /// <summary>Writes settings back (SitePrefixLength is cleared for IPv4, which SetIpInterfaceEntry requires).</summary>
    internal static int TrySet(Interop.MIB_IPINTERFACE_ROW row)
    {
        if (row.Family == AF_INET)
        {
            row.SitePrefixLength = 0;
        }

        return Interop.IpHelper.SetIpInterfaceEntry(&row);
    }

    /// <summary>Sets the MTU for both families; a family that is disabled on the interface is skipped.</summary>
    /// <returns>0 or the first Win32 error.</returns>
    internal static int TrySetMtu(int interfaceIndex, int mtu)
    {
        foreach (ushort family in Families)
        {
            int error = TryGet(family, interfaceIndex, out Interop.MIB_IPINTERFACE_ROW row);
            if (error == ERROR_NOT_FOUND)
            {
                continue;
            }

            if (error == 0)
            {
                row.NlMtu = (uint)mtu;
                error = TrySet(row);
            }

            if (error != 0)
            {
                return error;
            }
        }

        return 0;
    }
}
