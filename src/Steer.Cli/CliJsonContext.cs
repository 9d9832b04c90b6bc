using System.Text.Json;
using System.Text.Json.Serialization;
using Steer.Gateway;

namespace Steer.Cli;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = false, UseStringEnumConverter = true)]
[JsonSerializable(typeof(SteerStatus))]
[JsonSerializable(typeof(GatewayStatus))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
