using System.Text.Json.Nodes;
using Steer.Core.Tests.Security;

namespace Steer.Core.Tests.Configuration;

/// <summary>Tenant configuration documents for tests, and a way to change one field of them.</summary>
internal static class TestDocuments
{
    public const string PinA = CertificatePinTests.FixedEcCertificatePin;
    public const string PinB = CertificatePinTests.FixedRsaCertificatePin;

    /// <summary>A document using every field, plus an unknown one.</summary>
    public static readonly string Full = $$"""
        {
          "version": 1,
          "tenant": "acme",
          "gateways": [
            { "name": "lab-1", "address": "198.18.1.1", "port": 443, "pins": ["{{PinA}}"], "location": "lab" },
            { "name": "lab-2", "address": "gw2.example.net", "pins": ["{{PinB}}", "{{PinA}}"], "futureGatewayField": true }
          ],
          "steering": { "mode": "cidrs", "includeCidrs": ["10.0.0.0/8", "2001:db8::/32"], "excludeCidrs": ["10.1.0.0/16"] },
          "dns": { "servers": ["100.64.0.1", "fd00::53"], "searchDomains": ["corp.example.com"] },
          "failMode": "closed",
          "futureField": { "anything": [1, 2, 3] }
        }
        """;

    /// <summary>Only the required fields.</summary>
    public static string Minimal(string tenant = "acme") => $$"""
        { "version": 1, "tenant": "{{tenant}}", "gateways": [ { "name": "gw", "address": "127.0.0.1", "pins": ["{{PinA}}"] } ] }
        """;

    /// <summary>
    /// Returns <see cref="Full"/> with the value at <paramref name="pointer"/> (segments separated by '/', array
    /// indexes as numbers) replaced by <paramref name="valueJson"/>, or removed when it is null.
    /// </summary>
    public static string With(string pointer, string? valueJson)
    {
        JsonNode root = JsonNode.Parse(Full)!;
        string[] segments = pointer.Split('/');
        JsonNode parent = root;
        foreach (string segment in segments[..^1])
        {
            parent = int.TryParse(segment, out int index) ? parent[index]! : parent[segment]!;
        }

        string last = segments[^1];
        JsonNode? value = valueJson is null ? null : JsonNode.Parse(valueJson);
        if (parent is JsonArray array)
        {
            array[int.Parse(last)] = value;
        }
        else if (valueJson is null)
        {
            parent.AsObject().Remove(last);
        }
        else
        {
            parent[last] = value;
        }

        return root.ToJsonString();
    }
}
