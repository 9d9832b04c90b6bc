using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Steer.Policy;
using Steer.Security;

namespace Steer.Configuration;

/// <summary>Parses and validates the tenant configuration document; see <see cref="TenantConfiguration.Parse"/>.</summary>
internal static partial class TenantConfigurationParser
{
    private static readonly JsonDocumentOptions s_documentOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    public static TenantConfiguration Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, s_documentOptions);
        }
        catch (JsonException ex)
        {
            long line = (ex.LineNumber ?? 0) + 1;
            long position = (ex.BytePositionInLine ?? 0) + 1;
            string reason = JsonExceptionDetails().Replace(ex.Message, string.Empty).Trim();
            throw new TenantConfigurationException(
                $"Tenant configuration '{source}' is not valid JSON: line {line}, position {position}: {reason}",
                source, jsonPath: null, line, position, ex);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(source, "$", $"the document must be a JSON object ({{ \"version\": 1, ... }}), not {Describe(root.ValueKind)}");
            }

            CheckVersion(root, source);

            TenantConfigurationDocument? dto;
            try
            {
                dto = root.Deserialize(TenantConfigurationJsonContext.Default.TenantConfigurationDocument);
            }
            catch (JsonException ex)
            {
                string path = ToFieldPath(ex.Path);
                throw new TenantConfigurationException(
                    $"Tenant configuration '{source}' is invalid: {path}: has the wrong JSON type: must be {ExpectedType(path)}",
                    source, path, innerException: ex);
            }

            return Validate(dto!, source);
        }
    }

    /// <summary>
    /// Parses an IP address strictly: IPv4 only as four decimal parts 0-255 without leading zeros, IPv6 without
    /// brackets (IPAddress.TryParse alone also accepts "10", "10.1" and octal parts).
    /// </summary>
    internal static bool TryParseIPAddress(string? text, out IPAddress address)
    {
        address = IPAddress.None;
        if (string.IsNullOrEmpty(text) || text[0] == '[')
        {
            return false;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            if (IPAddress.TryParse(text, out IPAddress? v6) && v6.AddressFamily == AddressFamily.InterNetworkV6)
            {
                address = v6;
                return true;
            }

            return false;
        }

        string[] parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        foreach (string part in parts)
        {
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !part.All(char.IsAsciiDigit)
                || int.Parse(part, CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        if (IPAddress.TryParse(text, out IPAddress? v4) && v4.AddressFamily == AddressFamily.InterNetwork)
        {
            address = v4;
            return true;
        }

        return false;
    }

    /// <summary>Returns whether the text is a DNS host name (and not something that looks like a broken IPv4 address).</summary>
    internal static bool IsHostName(string? text) =>
        !string.IsNullOrEmpty(text)
        && text.Length <= 253
        && !text.All(c => char.IsAsciiDigit(c) || c == '.')
        && Uri.CheckHostName(text) == UriHostNameType.Dns;

    /// <summary>Parses <c>address/prefix</c>, refusing host bits; on failure <paramref name="problem"/> says why and what is expected.</summary>
    internal static bool TryParseCidr(string text, out IPNetwork network, out string problem)
    {
        network = default;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            problem = $"'{text}' has no prefix length: must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32";
            return false;
        }

        string addressText = text[..slash];
        string prefixText = text[(slash + 1)..];
        if (addressText.Contains('%', StringComparison.Ordinal) || !TryParseIPAddress(addressText, out IPAddress address))
        {
            problem = $"'{text}' is not a valid CIDR: '{addressText}' is not an IPv4 or IPv6 address (expected a CIDR such as 10.0.0.0/8)";
            return false;
        }

        int maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int prefix = prefixText.Length is > 0 and <= 3 && prefixText.All(char.IsAsciiDigit)
            ? int.Parse(prefixText, CultureInfo.InvariantCulture)
            : -1;
        if (prefix < 0 || prefix > maxPrefix)
        {
            problem = $"'{text}' has an invalid prefix length: must be 0 to {maxPrefix} for an {(maxPrefix == 32 ? "IPv4" : "IPv6")} address";
            return false;
        }

        byte[] bytes = address.GetAddressBytes();
        byte[] masked = (byte[])bytes.Clone();
        for (int bit = prefix; bit < masked.Length * 8; bit++)
        {
            masked[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        var networkAddress = new IPAddress(masked);
        if (!bytes.AsSpan().SequenceEqual(masked))
        {
            problem = $"'{text}' has host bits set: the network address of a /{prefix} is {networkAddress}, so write {networkAddress}/{prefix}";
            return false;
        }

        network = new IPNetwork(networkAddress, prefix);
        problem = string.Empty;
        return true;
    }

    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    private static TenantConfigurationException Invalid(string source, string path, string problem) =>
        TenantConfigurationException.Invalid(source, path, problem);

    private static void CheckVersion(JsonElement root, string source)
    {
        const string Supported = "this version of Steer reads tenant configuration version 1 only";
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (!property.Name.Equals("version", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            JsonElement value = property.Value;
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int version))
            {
                throw Invalid(source, "version", $"must be the whole number {TenantConfiguration.SupportedVersion}, not {(value.ValueKind == JsonValueKind.Number ? value.GetRawText() : Describe(value.ValueKind))}");
            }

            if (version != TenantConfiguration.SupportedVersion)
            {
                throw Invalid(source, "version", $"{version} is not supported: {Supported}; a newer configuration needs a newer Steer");
            }

            return;
        }

        throw Invalid(source, "version", $"is required: {Supported} (\"version\": {TenantConfiguration.SupportedVersion})");
    }

    private static TenantConfiguration Validate(TenantConfigurationDocument dto, string source)
    {
        string? tenant = dto.Tenant;
        if (string.IsNullOrEmpty(tenant))
        {
            throw Invalid(source, "tenant", $"is required: the tenant name, which {TenantConfiguration.TenantNameRule}");
        }

        if (!TenantConfiguration.IsValidTenantName(tenant))
        {
            throw Invalid(source, "tenant", $"'{tenant}' is not a valid tenant name: it {TenantConfiguration.TenantNameRule}");
        }

        return new TenantConfiguration
        {
            Version = TenantConfiguration.SupportedVersion,
            Tenant = tenant,
            Gateways = ValidateGateways(dto.Gateways, source),
            Steering = ValidateSteering(dto.Steering, source),
            Dns = ValidateDns(dto.Dns, source),
            FailMode = dto.FailMode?.ToLowerInvariant() switch
            {
                null => FailMode.Open,
                "open" => FailMode.Open,
                "closed" => FailMode.Closed,
                _ => throw Invalid(source, "failMode", $"'{dto.FailMode}' is not a fail mode: must be 'open' or 'closed'"),
            },
        };
    }

    private static IReadOnlyList<GatewayEndpoint> ValidateGateways(List<GatewayDocument?>? gateways, string source)
    {
        if (gateways is null || gateways.Count == 0)
        {
            throw Invalid(source, "gateways", "at least one gateway is required: an array of { \"name\", \"address\", \"port\", \"pins\" } objects");
        }

        var result = new GatewayEndpoint[gateways.Count];
        var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < gateways.Count; i++)
        {
            string path = $"gateways[{i}]";
            GatewayDocument gateway = gateways[i] ?? throw Invalid(source, path, "must be a gateway object, not null");

            string? name = gateway.Name;
            if (string.IsNullOrWhiteSpace(name))
            {
                throw Invalid(source, path + ".name", "is required: a non-empty name, unique among the gateways");
            }

            if (names.TryGetValue(name, out int first))
            {
                throw Invalid(source, path + ".name", $"'{name}' is already the name of gateways[{first}]: gateway names must be unique");
            }

            names.Add(name, i);

            string? address = gateway.Address;
            if (string.IsNullOrEmpty(address))
            {
                throw Invalid(source, path + ".address", "is required: the gateway's IP address or host name");
            }

            if (!TryParseIPAddress(address, out _) && !IsHostName(address))
            {
                string hint = address.StartsWith('[') ? " (write IPv6 addresses without brackets)"
                    : address.Contains(':', StringComparison.Ordinal) ? " (put the port in \"port\", not in the address)"
                    : string.Empty;
                throw Invalid(source, path + ".address", $"'{address}' is not an IP address or host name{hint}");
            }

            int port = gateway.Port ?? GatewayEndpoint.DefaultPort;
            if (port is < 1 or > 65535)
            {
                throw Invalid(source, path + ".port", $"{port} is not a valid port: must be 1 to 65535 (default {GatewayEndpoint.DefaultPort})");
            }

            List<string?>? pins = gateway.Pins;
            if (pins is null || pins.Count == 0)
            {
                throw Invalid(source, path + ".pins", $"at least one certificate key pin is required: each {CertificatePin.FormatDescription}");
            }

            var validPins = new string[pins.Count];
            for (int k = 0; k < pins.Count; k++)
            {
                string? pin = pins[k];
                if (!CertificatePin.IsValidFormat(pin))
                {
                    string shown = pin is null ? "null" : $"'{pin}'";
                    throw Invalid(source, $"{path}.pins[{k}]", $"{shown} is not a valid pin: it {CertificatePin.FormatDescription}");
                }

                validPins[k] = pin;
            }

            int priority = gateway.Priority ?? 0;
            if (priority is < 0 or > 1000)
            {
                throw Invalid(source, path + ".priority", $"{priority} is not a valid priority: must be 0 to 1000 (lower is preferred among equally fast gateways; default 0)");
            }

            result[i] = new GatewayEndpoint
            {
                Name = name,
                Address = address,
                Port = port,
                Pins = validPins.AsReadOnly(),
                Location = string.IsNullOrWhiteSpace(gateway.Location) ? null : gateway.Location,
                Priority = priority,
            };
        }

        return result.AsReadOnly();
    }

    private static SteeringSettings ValidateSteering(SteeringDocument? steering, string source)
    {
        if (steering is null)
        {
            return SteeringSettings.Default;
        }

        string? modeText = steering.Mode?.ToLowerInvariant();
        (SteeringMode mode, PolicyMode policyMode) = modeText switch
        {
            null => (SteeringMode.All, PolicyMode.All),
            "all" => (SteeringMode.All, PolicyMode.All),
            "cidrs" => (SteeringMode.Cidrs, PolicyMode.Listed),
            "web" => (SteeringMode.All, PolicyMode.Web),
            "listed" => (SteeringMode.Cidrs, PolicyMode.Listed),
            _ => throw Invalid(source, "steering.mode", $"'{steering.Mode}' is not a steering mode: must be 'all' (steer everything), 'web' (steer ports 80 and 443 plus the include rules), 'listed' (steer only the include rules) or 'cidrs' (steer only includeCidrs)"),
        };

        IReadOnlyList<IPNetwork> include = ParseCidrs(steering.IncludeCidrs, "steering.includeCidrs", source);
        IReadOnlyList<IPNetwork> exclude = ParseCidrs(steering.ExcludeCidrs, "steering.excludeCidrs", source);
        IReadOnlyList<PolicyRule> includeRules = ParseRules(steering.Include, "steering.include", PolicyRuleKind.Include, source);
        IReadOnlyList<PolicyRule> excludeRules = ParseRules(steering.Exclude, "steering.exclude", PolicyRuleKind.Exclude, source);

        if (policyMode == PolicyMode.All)
        {
            bool isEverything = include.Count == 0
                || (include.Count == 2 && include.ToHashSet().SetEquals(SteeringSettings.AllNetworks));
            if (!isEverything)
            {
                throw Invalid(source, "steering.includeCidrs",
                    "must be omitted or [\"0.0.0.0/0\", \"::/0\"] when steering.mode is 'all'; set steering.mode to 'cidrs' to steer only some networks");
            }

            include = SteeringSettings.AllNetworks;
        }
        else if (policyMode == PolicyMode.Web)
        {
            // Web mode routes everything the way mode all does; its includeCidrs are include rules like any other.
            includeRules = [.. include.Select(n => PolicyRule.ForNetwork(n, PolicyRuleKind.Include)), .. includeRules];
            include = SteeringSettings.AllNetworks;
        }
        else if (include.Count == 0 && includeRules.Count == 0)
        {
            throw modeText == "cidrs"
                ? Invalid(source, "steering.includeCidrs", "at least one CIDR is required when steering.mode is 'cidrs', for example [\"10.0.0.0/8\"]")
                : Invalid(source, "steering.include", "at least one include rule is required when steering.mode is 'listed', for example [\"10.0.0.0/8\", \"*.corp.example.com\", \"tcp/8443\"]");
        }
        else
        {
            // Clients that route by CIDR only still see the plain networks of the include rules.
            include = [.. include.Concat(includeRules.Where(r => r.Network is not null && !r.HasPorts).Select(r => r.Network!.Value)).Distinct()];
        }

        return new SteeringSettings
        {
            Mode = mode,
            PolicyMode = policyMode,
            IncludeCidrs = include,
            ExcludeCidrs = exclude,
            IncludeRules = includeRules,
            ExcludeRules = excludeRules,
        };
    }

    private static IReadOnlyList<PolicyRule> ParseRules(List<string?>? texts, string path, PolicyRuleKind kind, string source)
    {
        if (texts is null || texts.Count == 0)
        {
            return [];
        }

        var result = new PolicyRule[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            string? text = texts[i];
            if (text is null)
            {
                throw Invalid(source, $"{path}[{i}]", "must be a rule string such as 10.0.0.0/8, *.example.com or tcp/8443, not null");
            }

            if (!PolicyRule.TryParse(text, kind, out PolicyRule? rule, out string problem))
            {
                throw Invalid(source, $"{path}[{i}]", problem);
            }

            result[i] = rule;
        }

        return result.AsReadOnly();
    }

    private static IReadOnlyList<IPNetwork> ParseCidrs(List<string?>? cidrs, string path, string source)
    {
        if (cidrs is null || cidrs.Count == 0)
        {
            return [];
        }

        var result = new IPNetwork[cidrs.Count];
        for (int i = 0; i < cidrs.Count; i++)
        {
            string? text = cidrs[i];
            if (text is null)
            {
                throw Invalid(source, $"{path}[{i}]", "must be a CIDR string such as 10.0.0.0/8, not null");
            }

            if (!TryParseCidr(text, out result[i], out string problem))
            {
                throw Invalid(source, $"{path}[{i}]", problem);
            }
        }

        return result.AsReadOnly();
    }

    private static DnsSettings ValidateDns(DnsDocument? dns, string source)
    {
        if (dns is null)
        {
            return DnsSettings.None;
        }

        List<string?> serverTexts = dns.Servers ?? [];
        var servers = new IPAddress[serverTexts.Count];
        for (int i = 0; i < serverTexts.Count; i++)
        {
            if (!TryParseIPAddress(serverTexts[i], out servers[i]))
            {
                string shown = serverTexts[i] is null ? "null" : $"'{serverTexts[i]}'";
                throw Invalid(source, $"dns.servers[{i}]", $"{shown} is not an IP address: DNS servers must be IPv4 or IPv6 addresses");
            }
        }

        List<string?> domainTexts = dns.SearchDomains ?? [];
        var domains = new string[domainTexts.Count];
        for (int i = 0; i < domainTexts.Count; i++)
        {
            string? domain = domainTexts[i]?.TrimEnd('.');
            if (!IsHostName(domain))
            {
                string shown = domainTexts[i] is null ? "null" : $"'{domainTexts[i]}'";
                throw Invalid(source, $"dns.searchDomains[{i}]", $"{shown} is not a domain name such as corp.example.com");
            }

            domains[i] = domain!;
        }

        return new DnsSettings { Servers = servers.AsReadOnly(), SearchDomains = domains.AsReadOnly() };
    }

    private static string ToFieldPath(string? jsonPath)
    {
        if (string.IsNullOrEmpty(jsonPath) || jsonPath == "$")
        {
            return "$";
        }

        return jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');
    }

    private static string ExpectedType(string path)
    {
        if (path == "$")
        {
            return "an object";
        }

        bool isElement = path.EndsWith(']');
        int dot = path.LastIndexOf('.');
        string last = path[(dot + 1)..];
        int bracket = last.IndexOf('[', StringComparison.Ordinal);
        string name = (bracket >= 0 ? last[..bracket] : last).ToLowerInvariant();
        return (name, isElement) switch
        {
            ("gateways", true) => "a gateway object",
            ("gateways", false) => "an array of gateway objects",
            (_, true) => "a string",
            ("pins" or "includecidrs" or "excludecidrs" or "include" or "exclude" or "servers" or "searchdomains", false) => "an array of strings",
            ("version" or "port", false) => "a whole number",
            ("steering" or "dns", false) => "an object",
            _ => "a string",
        };
    }

    // System.Text.Json appends " Path: $ | LineNumber: 0 | BytePositionInLine: 1." to its messages; the exception
    // message gives line and position itself, 1-based.
    [GeneratedRegex(@"\s*(Path:|LineNumber:).*$", RegexOptions.Singleline)]
    private static partial Regex JsonExceptionDetails();
}
