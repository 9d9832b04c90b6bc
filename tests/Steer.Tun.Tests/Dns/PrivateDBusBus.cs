using System.Diagnostics;
using System.Net;
using Tmds.DBus.Protocol;

namespace Steer.Tun.Tests.Dns;

/// <summary>
/// A dbus-daemon of the test's own (Debian package dbus-daemon) on a Unix socket in a temporary directory, with a
/// configuration that lets anyone own any name and talk to anyone: a stand-in for the system bus. Killed on dispose
/// (by its own Process object: only the daemon this test started).
/// </summary>
internal sealed class PrivateDBusBus : IDisposable
{
    private readonly Process _process;

    private PrivateDBusBus(Process process, string address)
    {
        _process = process;
        Address = address;
    }

    public string Address { get; }

    /// <summary>The dbus-daemon executable on PATH, or null.</summary>
    public static string? FindDaemon()
        => (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Select(directory => Path.Combine(directory, "dbus-daemon"))
            .FirstOrDefault(File.Exists);

    /// <summary>Starts the daemon listening on <c>directory/bus</c> and waits until it prints its address.</summary>
    public static PrivateDBusBus Start(string daemon, string directory)
    {
        string config = Path.Combine(directory, "bus.conf");
        File.WriteAllText(config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>steer-test</type>
              <listen>unix:path={Path.Combine(directory, "bus")}</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """);
        var start = new ProcessStartInfo(daemon)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "--config-file=" + config, "--nofork", "--nopidfile", "--print-address=1" })
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException("dbus-daemon did not start.");
        process.ErrorDataReceived += (_, _) => { }; // its fd-limit warning as non-root, and such
        process.BeginErrorReadLine();
        Task<string?> line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(10)) || string.IsNullOrEmpty(line.Result))
        {
            process.Kill();
            process.Dispose();
            throw new InvalidOperationException("dbus-daemon did not print its address within 10 s.");
        }

        return new PrivateDBusBus(process, line.Result.Trim());
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}

/// <summary>
/// A fake <c>org.freedesktop.resolve1</c>: owns the name on a bus and records every call to the Manager interface,
/// decoded, as text such as <c>SetLinkDNS(7, [2 100.80.0.2])</c>. It answers with an empty return, or with the error
/// <see cref="Refuse"/> names.
/// </summary>
internal sealed class FakeResolvedService : IPathMethodHandler, IDisposable
{
    private readonly DBusConnection _connection;
    private readonly List<string> _calls = [];

    private FakeResolvedService(DBusConnection connection)
    {
        _connection = connection;
    }

    public string Path => "/org/freedesktop/resolve1";

    public bool HandlesChildPaths => false;

    /// <summary>Returns (error name, message) for the members to refuse; null answers normally.</summary>
    public Func<string, (string Name, string Message)?> Refuse { get; set; } = _ => null;

    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>
    /// Connects and takes the name. Tmds.DBus.Protocol completes its tasks inline on the connection's receive loop, so
    /// the caller is moved off that loop before this returns: a test that then blocks in a synchronous Apply or
    /// Dispose must not block the very loop that has to run this service's method handler.
    /// </summary>
    public static async Task<FakeResolvedService> StartAsync(string address)
    {
        var connection = new DBusConnection(new DBusConnectionOptions(address) { AutoConnect = false });
        try
        {
            await connection.ConnectAsync();
            var service = new FakeResolvedService(connection);
            connection.AddMethodHandler(service);
            await connection.RequestNameAsync("org.freedesktop.resolve1", RequestNameOptions.None);
            await Task.Yield(); // continue on the thread pool, not on the receive loop that completed RequestName
            return service;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        Message request = context.Request;
        if (request.InterfaceAsString != "org.freedesktop.resolve1.Manager")
        {
            context.ReplyUnknownMethodError();
            return default;
        }

        string member = request.MemberAsString ?? string.Empty;
        string call;
        try
        {
            call = member + "(" + Decode(request) + ")";
        }
        catch (Exception e)
        {
            call = member + " EXCEPTION " + e;
        }

        lock (_calls)
        {
            _calls.Add(call);
        }

        if (Refuse(member) is { } error)
        {
            context.ReplyError(error.Name, error.Message);
        }
        else
        {
            using MessageWriter writer = context.CreateReplyWriter(null);
            context.Reply(writer.CreateMessage());
        }

        return default;
    }

    public void Dispose() => _connection.Dispose();

    private static string Decode(Message request)
    {
        Reader reader = request.GetBodyReader();
        var parts = new List<string> { reader.ReadInt32().ToString(System.Globalization.CultureInfo.InvariantCulture) };
        switch (request.SignatureAsString)
        {
            case "ia(iay)":
            case "ia(iayqs)":
            {
                var servers = new List<string>();
                ArrayEnd end = reader.ReadArrayStart(DBusType.Struct);
                while (reader.HasNext(end))
                {
                    reader.AlignStruct();
                    int family = reader.ReadInt32();
                    var address = new IPAddress(reader.ReadArrayOfByte());
                    string server = $"{family} {address}";
                    if (request.SignatureAsString == "ia(iayqs)")
                    {
                        server += $" port {reader.ReadUInt16()} name '{reader.ReadString()}'";
                    }

                    servers.Add(server);
                }

                parts.Add("[" + string.Join(", ", servers) + "]");
                break;
            }

            case "ia(sb)":
            {
                var domains = new List<string>();
                ArrayEnd end = reader.ReadArrayStart(DBusType.Struct);
                while (reader.HasNext(end))
                {
                    reader.AlignStruct();
                    domains.Add($"({reader.ReadString()}, {reader.ReadBool()})");
                }

                parts.Add("[" + string.Join(", ", domains) + "]");
                break;
            }

            case "ib":
                parts.Add(reader.ReadBool().ToString());
                break;
            case "is":
                parts.Add(reader.ReadString());
                break;
            case "i":
                break;
            default:
                parts.Add("? " + request.SignatureAsString);
                break;
        }

        return string.Join(", ", parts);
    }
}
