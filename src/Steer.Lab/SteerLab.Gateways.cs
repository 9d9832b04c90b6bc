using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Steer.Lab;

/// <summary>Extra gateways ("datacenters") in the lab's gateway namespace, each optionally behind a delay relay.</summary>
public sealed partial class SteerLab
{
    /// <summary>
    /// Starts another gateway in the gateway namespace: its own key, pool (100.64.<paramref name="index"/>.0/24),
    /// TUN, NAT table and control socket, listening on <paramref name="port"/> (TCP and UDP). With
    /// <paramref name="relayDelay"/>, a delay relay listens on <paramref name="port"/> + 1000 and forwards to it, adding
    /// that one-way delay in each direction; clients should then use <see cref="LabGateway.ClientPort"/>.
    /// </summary>
    public async Task<LabGateway> StartGatewayAsync(string name, int index, int port, TimeSpan? relayDelay = null, CancellationToken cancellationToken = default)
    {
        string dir = Path.Combine(WorkDirectory, name);
        string gw = Topology.GatewayAddress.ToString();
        LabCommandResult init = await RunSteerAsync(null, cancellationToken,
            "gateway", "init", "--dir", dir, "--tenant", Tenant, "--name", name, "--address", gw,
            "--port", port.ToString(CultureInfo.InvariantCulture),
            "--ipv4-pool", $"100.64.{index}.0/24", "--ipv6-pool", $"fd53:7ee7:ff:{index}::/64", "--force").ConfigureAwait(false);
        string pin = ParsePin(init);

        // All lab gateways accept the lab's tokens: share the first gateway's token key.
        File.Copy(Path.Combine(WorkDirectory, "token-signing.pub"), Path.Combine(dir, "token-signing.pub"), overwrite: true);
        File.Copy(Path.Combine(WorkDirectory, "token-signing.key"), Path.Combine(dir, "token-signing.key"), overwrite: true);

        string socket = Path.Combine(WorkDirectory, $"{name}.sock");
        LabProcess process = StartSteer(Topology.GatewayNamespace, name, "gateway", "--config", Path.Combine(dir, "gateway.json"), "--control-socket", socket);
        await process.WaitForLineAsync(l => l.Contains("listening on", StringComparison.Ordinal), _options.ReadyTimeout, cancellationToken).ConfigureAwait(false);

        int clientPort = port;
        LabProcess? relay = null;
        string? delayFile = null;
        if (relayDelay is { } delay)
        {
            clientPort = port + 1000;
            delayFile = Path.Combine(WorkDirectory, $"{name}.delay");
            await File.WriteAllTextAsync(delayFile, ((int)delay.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
            relay = StartSteer(Topology.GatewayNamespace, $"{name}-relay", "lab", "relay",
                "--listen", $"{gw}:{clientPort}", "--target", $"127.0.0.1:{port}", "--delay-file", delayFile);
            await relay.WaitForLineAsync(l => l.Contains("relay", StringComparison.OrdinalIgnoreCase) && l.Contains("listening", StringComparison.OrdinalIgnoreCase), _options.ReadyTimeout, cancellationToken).ConfigureAwait(false);
        }

        return new LabGateway(name, gw, port, clientPort, pin, socket, process, relay, delayFile);
    }

    /// <summary>Changes the one-way delay of a gateway's relay while it runs.</summary>
    public static async Task SetDelayAsync(LabGateway gateway, TimeSpan delay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        string file = gateway.DelayFile ?? throw new InvalidOperationException($"Gateway {gateway.Name} has no relay.");
        await File.WriteAllTextAsync(file + ".tmp", ((int)delay.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        File.Move(file + ".tmp", file, overwrite: true);
    }

    /// <summary>Writes a tenant configuration listing <paramref name="gateways"/> (in that order) and returns its path.</summary>
    public string WriteTenantConfiguration(string fileName, IEnumerable<LabGateway> gateways) => WriteTenantConfiguration(fileName, gateways, null);

    /// <summary>
    /// Writes a tenant configuration listing <paramref name="gateways"/> with the given <c>steering</c> section
    /// (null: mode all) and returns its path.
    /// </summary>
    public string WriteTenantConfiguration(string fileName, IEnumerable<LabGateway> gateways, JsonObject? steering)
    {
        var document = new JsonObject
        {
            ["version"] = 1,
            ["tenant"] = Tenant,
            ["gateways"] = new JsonArray(gateways.Select(g => (JsonNode)new JsonObject
            {
                ["name"] = g.Name,
                ["address"] = g.Address,
                ["port"] = g.ClientPort,
                ["pins"] = new JsonArray(g.Pin),
            }).ToArray()),
            ["steering"] = steering ?? new JsonObject { ["mode"] = "all" },
        };
        string path = Path.Combine(WorkDirectory, fileName);
        File.WriteAllText(path, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    /// <summary>The lab's first gateway (started with the lab) as a <see cref="LabGateway"/>.</summary>
    public LabGateway FirstGateway => new("lab-gw", Topology.GatewayAddress.ToString(), 443, 443, GatewayPin, GatewaySocket, Gateway!, null, null);
}

/// <summary>A gateway process of the lab.</summary>
/// <param name="Name">Gateway name.</param>
/// <param name="Address">Address clients use.</param>
/// <param name="Port">Port the gateway listens on.</param>
/// <param name="ClientPort">Port clients use (the relay's, when there is one).</param>
/// <param name="Pin">Key pin.</param>
/// <param name="ControlSocket">Control socket of the gateway process.</param>
/// <param name="Process">The gateway process.</param>
/// <param name="Relay">The delay relay in front of it, if any.</param>
/// <param name="DelayFile">File the relay reads its delay (ms) from.</param>
public sealed record LabGateway(string Name, string Address, int Port, int ClientPort, string Pin, string ControlSocket, LabProcess Process, LabProcess? Relay, string? DelayFile);
