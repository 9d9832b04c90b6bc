using System.CommandLine;
using System.Text.Json;
using Steer.Cli.Control;

namespace Steer.Cli.Commands;

/// <summary><c>steer status</c> and <c>steer down</c>: talk to a running <c>steer up</c> over its control socket.</summary>
internal static class StatusCommand
{
    public static Command CreateStatus()
    {
        var socket = CommonOptions.ControlSocket("Control socket of the running steer.");
        var command = new Command("status", "Show the state of the running steer: gateway, transport, addresses, counters.") { socket, CommonOptions.Json };
        command.SetAction((parse, ct) => CommonOptions.RunAsync(async () =>
        {
            string json = await ControlClient.SendAsync(parse.GetValue(socket)!, "status", ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                Console.WriteLine(json);
                return ExitCodes.Ok;
            }

            SteerStatus s = JsonSerializer.Deserialize(json, CliJsonContext.Default.SteerStatus)
                ?? throw new CliException("The running steer sent an empty status.");
            Console.WriteLine($"state:       {s.State.ToString().ToLowerInvariant()}");
            Console.WriteLine($"tenant:      {s.Tenant}");
            Console.WriteLine($"gateway:     {s.Gateway ?? "-"} {s.GatewayEndpoint}{(s.GatewayReason is null ? "" : $" ({s.GatewayReason})")}");
            Console.WriteLine($"transport:   {s.Transport ?? "-"} ({s.TransportSwitches} switches; DTLS packets out {s.DtlsPacketsSent}, in {s.DtlsPacketsReceived}; UDP GSO {s.DtlsGsoDatagrams}, GRO {s.DtlsGroDatagrams})");
            Console.WriteLine($"interface:   {s.Interface ?? "-"} {s.InnerIPv4} {s.InnerIPv6} mtu {s.Mtu} ({s.TunMergedPackets} packets written merged into TCP super-packets)");
            Console.WriteLine($"path mtu:    {(s.PathMtu is int pmtu ? $"{pmtu} (DTLS, probed)" : "-")}");
            Console.WriteLine($"dns:         {(s.DnsServers.Count == 0 ? "-" : string.Join(", ", s.DnsServers))}");
            Console.WriteLine($"since:       {s.ConnectedSince?.ToString("u") ?? "-"}   reconnects: {s.Reconnects}");
            Console.WriteLine($"sent:        {s.PacketsSent} packets, {StatusLine.Human(s.BytesSent)}");
            Console.WriteLine($"received:    {s.PacketsReceived} packets, {StatusLine.Human(s.BytesReceived)}");
            Console.WriteLine($"dropped:     {s.PacketsDropped}; DTLS records: garbage {s.DtlsGarbageDropped}, replayed {s.DtlsReplayedDropped}, failed authentication {s.DtlsRejectedDropped}");
            if (s.LastError is not null)
            {
                Console.WriteLine($"last error:  {s.LastError}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command CreateDown()
    {
        var socket = CommonOptions.ControlSocket("Control socket of the running steer.");
        var cleanup = new Option<bool>("--cleanup")
        {
            Description = "Also undo what a steer that was killed (kill -9, crash, power loss of the process) left: DNS file, routes, rules, addresses.",
        };
        var command = new Command("down", "Stop the running steer; it removes its routes and interface before it exits.")
        {
            socket, cleanup, CommonOptions.StateDirectory, CommonOptions.ResolvConf,
        };
        command.SetAction((parse, ct) => CommonOptions.RunAsync(async () =>
        {
            string path = parse.GetValue(socket)!;
            if (parse.GetValue(cleanup))
            {
                if (ControlClient.IsAlive(path))
                {
                    await ControlClient.SendAsync(path, "down", ct).ConfigureAwait(false);
                    for (int i = 0; i < 100 && ControlClient.IsAlive(path); i++)
                    {
                        await Task.Delay(100, ct).ConfigureAwait(false);
                    }
                }

                int undone = SteerClient.RecoverLeftovers(new SteerClientOptions
                {
                    StateDirectory = parse.GetValue(CommonOptions.StateDirectory),
                    ResolvConfPath = parse.GetValue(CommonOptions.ResolvConf)!,
                });
                Console.WriteLine(undone == 0 ? "nothing left to clean up" : $"undid {undone} change(s) left by a steer that did not stop cleanly");
                return ExitCodes.Ok;
            }

            await ControlClient.SendAsync(path, "down", ct).ConfigureAwait(false);

            // Wait until the process has restored the host and released its socket.
            for (int i = 0; i < 100 && ControlClient.IsAlive(path); i++)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
            }

            Console.WriteLine(ControlClient.IsAlive(path) ? "steer is still stopping" : "steer stopped");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
