using System.Runtime.InteropServices;

namespace Steer.Tun.MacOS;

#pragma warning disable CS8981 // native struct names are kept as in the C headers
internal static partial class Interop
{
    /// <summary>
    /// <c>struct ctl_info</c> from <c>sys/kern_control.h</c>: <c>u_int32_t ctl_id; char ctl_name[MAX_KCTL_NAME]</c>
    /// (4 + 96 = 100 bytes). CTLIOCGINFO fills <c>ctl_id</c> for the name.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct ctl_info
    {
        /// <summary>Kernel controller id, filled in by the kernel.</summary>
        public uint ctl_id;

        /// <summary>Kernel controller name (a C string).</summary>
        public fixed byte ctl_name[UtunConstants.MAX_KCTL_NAME];
    }

    /// <summary>
    /// <c>struct sockaddr_ctl</c> from <c>sys/kern_control.h</c>: <c>u_char sc_len, sc_family; u_int16_t ss_sysaddr;
    /// u_int32_t sc_id, sc_unit, sc_reserved[5]</c> (32 bytes).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct sockaddr_ctl
    {
        /// <summary>sizeof(struct sockaddr_ctl).</summary>
        public byte sc_len;

        /// <summary>AF_SYSTEM.</summary>
        public byte sc_family;

        /// <summary>AF_SYS_CONTROL.</summary>
        public ushort ss_sysaddr;

        /// <summary>Controller id from CTLIOCGINFO.</summary>
        public uint sc_id;

        /// <summary>Unit: for utun, N + 1 asks for utunN and 0 for the next free unit.</summary>
        public uint sc_unit;

        /// <summary>Reserved, zero.</summary>
        public fixed uint sc_reserved[5];
    }
}
#pragma warning restore CS8981
