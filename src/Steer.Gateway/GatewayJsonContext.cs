using System.Text.Json;
using System.Text.Json.Serialization;

namespace Steer.Gateway;

/// <summary>Source-generated JSON metadata for the gateway's documents.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(GatewayOptions))]
[JsonSerializable(typeof(GatewayStatus))]
public sealed partial class GatewayJsonContext : JsonSerializerContext;
