// An endpoint agent embedding Steer: loads the tenant configuration, starts the client, reacts to state changes,
// and stops it cleanly (routes and interface removed) on Ctrl-C. Run as root:
//   dotnet run --project samples/EmbeddedAgent -- <tenant.json> <token>
using Microsoft.Extensions.Logging;
using Steer;
using Steer.Configuration;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: EmbeddedAgent <tenant.json> <token>");
    return 2;
}

using ILoggerFactory logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

TenantConfiguration config = await TenantConfigurationLoader.LoadFileAsync(args[0]);
await using var client = new SteerClient(
    new SteerClientOptions { Configuration = config, Token = args[1], DeviceId = Environment.MachineName },
    logging.CreateLogger<SteerClient>());

client.StatusChanged += (_, status) =>
    Console.WriteLine($"agent: steer is {status.State} (gateway {status.Gateway ?? "-"}, {status.InnerIPv4 ?? "no address"})");

try
{
    await client.StartAsync(stop.Token);
    await Task.WhenAny(client.Completion, Task.Delay(Timeout.Infinite, stop.Token));
}
catch (OperationCanceledException)
{
}

await client.StopAsync();
SteerStatus final = client.Status;
Console.WriteLine($"agent: stopped after {final.PacketsSent} packets out, {final.PacketsReceived} in");
return 0;
