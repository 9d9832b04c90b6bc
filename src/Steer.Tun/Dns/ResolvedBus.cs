using System.Net;
using System.Net.Sockets;
using Tmds.DBus.Protocol;

namespace Steer.Tun.Dns;

/// <summary>
/// The D-Bus side of the systemd-resolved backend: the method calls of <c>org.freedesktop.resolve1.Manager</c> (see
/// <c>org.freedesktop.resolve1(5)</c>) and the bus's <c>NameHasOwner</c>, built with Tmds.DBus.Protocol's message writer
/// (no reflection-based proxies, so NativeAOT-compatible), and one bounded exchange with a bus.
/// </summary>
/// <remarks>
/// Every call to resolved carries NO_AUTO_START: Steer configures a resolved that already runs and never makes the bus
/// start one. Bodies are marshalled little-endian by the writer; tests compare them with bytes written by hand from the
/// D-Bus specification.
/// </remarks>
internal static class ResolvedBus
{
    /// <summary>resolved's well-known bus name.</summary>
    internal const string ServiceName = "org.freedesktop.resolve1";

    /// <summary>The object that implements the manager interface.</summary>
    internal const string ObjectPath = "/org/freedesktop/resolve1";

    /// <summary>The interface of the per-link methods.</summary>
    internal const string ManagerInterface = "org.freedesktop.resolve1.Manager";

    /// <summary>The message bus itself (name, path and interface are the same string but the path).</summary>
    internal const string BusService = "org.freedesktop.DBus";

    /// <summary>The message bus's object path.</summary>
    internal const string BusPath = "/org/freedesktop/DBus";

    /// <summary>The method does not exist (an older resolved: SetLinkDefaultRoute came with systemd 240, SetLinkDNSEx with 246).</summary>
    internal const string UnknownMethodError = "org.freedesktop.DBus.Error.UnknownMethod";

    /// <summary>Refused by policy or polkit: the caller is not privileged.</summary>
    internal const string AccessDeniedError = "org.freedesktop.DBus.Error.AccessDenied";

    /// <summary>polkit would ask a user; Steer never allows interactive authorization, so this means "not privileged".</summary>
    internal const string InteractiveAuthorizationRequiredError = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired";

    /// <summary>Nobody owns the destination name and no service file could start it.</summary>
    internal const string ServiceUnknownError = "org.freedesktop.DBus.Error.ServiceUnknown";

    /// <summary>Nobody owns the destination name and NO_AUTO_START forbade starting it: resolved does not run (dbus-daemon's answer).</summary>
    internal const string NameHasNoOwnerError = "org.freedesktop.DBus.Error.NameHasNoOwner";

    /// <summary>resolved knows no link with that index (the interface is gone).</summary>
    internal const string NoSuchLinkError = "org.freedesktop.resolve1.NoSuchLink";

    /// <summary>systemd-networkd manages the link, so resolved refuses settings from anyone else.</summary>
    internal const string LinkBusyError = "org.freedesktop.resolve1.LinkBusy";

    /// <summary>The flags of every call to resolved: never let the bus start it.</summary>
    internal const MessageFlags ResolvedCallFlags = MessageFlags.NoAutoStart;

    /// <summary>AF_INET on Linux, the address family resolved expects in its address structures.</summary>
    internal const int AfInet = 2;

    /// <summary>AF_INET6 on Linux.</summary>
    internal const int AfInet6 = 10;

    /// <summary>
    /// The link's domains for <c>SetLinkDomains</c>: the root domain "." as a routing-only domain when every name goes
    /// through the tunnel, or each match domain as a routing-only domain (split DNS), then the search domains (which
    /// resolved also routes). The names are bare — "." or "corp.example.com" with the flag set — not resolvectl's
    /// "~" syntax: "~." sent over D-Bus would be a domain literally named "~".
    /// </summary>
    internal static List<(string Domain, bool RoutingOnly)> LinkDomains(DnsConfiguration configuration)
    {
        List<string> search = DnsConfiguration.NormalizeAll(configuration.SearchDomains);
        List<string> match = DnsConfiguration.NormalizeAll(configuration.MatchDomains);
        var domains = new List<(string Domain, bool RoutingOnly)>(match.Count + search.Count + 1);
        if (match.Count == 0)
        {
            domains.Add((".", true));
        }

        foreach (string domain in match)
        {
            if (!search.Contains(domain))
            {
                domains.Add((domain, true)); // a search domain routes too, so it is not listed twice
            }
        }

        foreach (string domain in search)
        {
            domains.Add((domain, false));
        }

        return domains;
    }

    /// <summary><c>SetLinkDNS(i ifindex, a(iay) addresses)</c>: the link's servers, queried on port 53.</summary>
    internal static MessageBuffer SetLinkDns(DBusConnection connection, int interfaceIndex, IReadOnlyList<IPAddress> servers)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(ServiceName, ObjectPath, ManagerInterface, "SetLinkDNS", "ia(iay)", ResolvedCallFlags);
        writer.WriteInt32(interfaceIndex);
        ArrayStart array = writer.WriteArrayStart(DBusType.Struct);
        foreach (IPAddress server in servers)
        {
            writer.WriteStructureStart();
            writer.WriteInt32(Family(server));
            writer.WriteArray(server.GetAddressBytes());
        }

        writer.WriteArrayEnd(array);
        return writer.CreateMessage();
    }

    /// <summary>
    /// <c>SetLinkDNSEx(i ifindex, a(iayqs) addresses)</c> (systemd 246 or later): the servers with a port, and an empty
    /// server name (the name is only used for DNS-over-TLS certificate checks).
    /// </summary>
    internal static MessageBuffer SetLinkDnsEx(DBusConnection connection, int interfaceIndex, IReadOnlyList<IPAddress> servers, int port)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(ServiceName, ObjectPath, ManagerInterface, "SetLinkDNSEx", "ia(iayqs)", ResolvedCallFlags);
        writer.WriteInt32(interfaceIndex);
        ArrayStart array = writer.WriteArrayStart(DBusType.Struct);
        foreach (IPAddress server in servers)
        {
            writer.WriteStructureStart();
            writer.WriteInt32(Family(server));
            writer.WriteArray(server.GetAddressBytes());
            writer.WriteUInt16(checked((ushort)port));
            writer.WriteString(string.Empty);
        }

        writer.WriteArrayEnd(array);
        return writer.CreateMessage();
    }

    /// <summary><c>SetLinkDomains(i ifindex, a(sb) domains)</c>: each domain with its routing-only flag.</summary>
    internal static MessageBuffer SetLinkDomains(DBusConnection connection, int interfaceIndex, IReadOnlyList<(string Domain, bool RoutingOnly)> domains)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(ServiceName, ObjectPath, ManagerInterface, "SetLinkDomains", "ia(sb)", ResolvedCallFlags);
        writer.WriteInt32(interfaceIndex);
        ArrayStart array = writer.WriteArrayStart(DBusType.Struct);
        foreach ((string domain, bool routingOnly) in domains)
        {
            writer.WriteStructureStart();
            writer.WriteString(domain);
            writer.WriteBool(routingOnly);
        }

        writer.WriteArrayEnd(array);
        return writer.CreateMessage();
    }

    /// <summary><c>SetLinkDefaultRoute(i ifindex, b enable)</c> (systemd 240 or later): whether names no link's domain matches may go to this link.</summary>
    internal static MessageBuffer SetLinkDefaultRoute(DBusConnection connection, int interfaceIndex, bool enable)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(ServiceName, ObjectPath, ManagerInterface, "SetLinkDefaultRoute", "ib", ResolvedCallFlags);
        writer.WriteInt32(interfaceIndex);
        writer.WriteBool(enable);
        return writer.CreateMessage();
    }

    /// <summary>
    /// A per-link mode setter with a string argument: <c>SetLinkLLMNR</c>, <c>SetLinkMulticastDNS</c>,
    /// <c>SetLinkDNSSEC</c> or <c>SetLinkDNSOverTLS</c> (signature <c>is</c>), e.g. with "no".
    /// </summary>
    internal static MessageBuffer SetLinkMode(DBusConnection connection, string member, int interfaceIndex, string mode)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(ServiceName, ObjectPath, ManagerInterface, member, "is", ResolvedCallFlags);
        writer.WriteInt32(interfaceIndex);
        writer.WriteString(mode);
        return writer.CreateMessage();
    }

    /// <summary><c>RevertLink(i ifindex)</c>: drops every setting made over D-Bus for the link.</summary>
    internal static MessageBuffer RevertLink(DBusConnection connection, int interfaceIndex)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(ServiceName, ObjectPath, ManagerInterface, "RevertLink", "i", ResolvedCallFlags);
        writer.WriteInt32(interfaceIndex);
        return writer.CreateMessage();
    }

    /// <summary><c>org.freedesktop.DBus.NameHasOwner(s name)</c> → <c>b</c>.</summary>
    internal static MessageBuffer NameHasOwner(DBusConnection connection, string name)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(BusService, BusPath, BusService, "NameHasOwner", "s", MessageFlags.None);
        writer.WriteString(name);
        return writer.CreateMessage();
    }

    /// <summary><c>org.freedesktop.DBus.GetConnectionUnixProcessID(s name)</c> → <c>u</c>: the pid of the name's owner.</summary>
    internal static MessageBuffer GetConnectionUnixProcessId(DBusConnection connection, string name)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(BusService, BusPath, BusService, "GetConnectionUnixProcessID", "s", MessageFlags.None);
        writer.WriteString(name);
        return writer.CreateMessage();
    }

    /// <summary>Asks the bus for the process id of <paramref name="name"/>'s owner.</summary>
    internal static Task<uint> GetConnectionUnixProcessIdAsync(DBusConnection connection, string name)
        => connection.CallMethodAsync(GetConnectionUnixProcessId(connection, name), static (Message message, object? _) => message.GetBodyReader().ReadUInt32(), null);

    /// <summary>Asks the bus whether <paramref name="name"/> has an owner now.</summary>
    internal static Task<bool> NameHasOwnerAsync(DBusConnection connection, string name)
        => connection.CallMethodAsync(NameHasOwner(connection, name), static (Message message, object? _) => message.GetBodyReader().ReadBool(), null);

    /// <summary>
    /// Connects to the bus at <paramref name="address"/>, runs <paramref name="work"/> and disconnects. The whole
    /// exchange (connect, authenticate, Hello, the calls) must finish within <paramref name="timeout"/>, otherwise
    /// <see cref="TimeoutException"/> is thrown and the connection is closed. Blocks the calling thread, which is safe
    /// because the exchange has a connection of its own, created and driven on the thread pool. (Tmds.DBus.Protocol
    /// completes its tasks inline on a connection's receive loop: code resumed that way must never block, or the loop
    /// stops. A caller that itself runs on another Tmds connection's receive loop must therefore not call this.)
    /// </summary>
    /// <exception cref="TimeoutException">The exchange took longer than <paramref name="timeout"/>.</exception>
    /// <exception cref="DBusErrorReplyException">A call was answered with a D-Bus error.</exception>
    /// <exception cref="Exception">Anything else <see cref="IsBusFailure"/> accepts: the bus could not be reached or the connection broke.</exception>
    internal static T Exchange<T>(string address, TimeSpan timeout, Func<DBusConnection, Task<T>> work)
    {
        using var abandon = new CancellationTokenSource();
        CancellationToken abandoned = abandon.Token;
        Task<T> task = Task.Run(async () =>
        {
            using var connection = new DBusConnection(new DBusConnectionOptions(address) { AutoConnect = false });
            using CancellationTokenRegistration closeOnTimeout = abandoned.Register(static c => ((DBusConnection)c!).Dispose(), connection);
            await connection.ConnectAsync().ConfigureAwait(false);
            return await work(connection).ConfigureAwait(false);
        });
        try
        {
            return task.WaitAsync(timeout).GetAwaiter().GetResult();
        }
        catch (TimeoutException)
        {
            abandon.Cancel(); // closes the connection, which fails whatever the task still waits for

            // Observe that failure.
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>True for the exceptions a bus exchange can end with (as opposed to programming errors).</summary>
    internal static bool IsBusFailure(Exception exception)
        => exception is DBusExceptionBase or SocketException or IOException or TimeoutException or ObjectDisposedException;

    private static int Family(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? AfInet6 : AfInet;
}
