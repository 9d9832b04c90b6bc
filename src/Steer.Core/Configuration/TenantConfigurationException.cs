namespace Steer.Configuration;

/// <summary>
/// A tenant configuration could not be loaded or is invalid. The message names the source (file or URL), the JSON
/// path of the offending field or the line and position of a JSON syntax error, the problem and what is expected.
/// </summary>
public class TenantConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TenantConfigurationException()
        : this("The tenant configuration is invalid.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public TenantConfigurationException(string message)
        : base(message)
    {
        ConfigurationSource = string.Empty;
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public TenantConfigurationException(string message, Exception? innerException)
        : base(message, innerException)
    {
        ConfigurationSource = string.Empty;
    }

    /// <summary>Creates the exception with all its details.</summary>
    internal TenantConfigurationException(string message, string configurationSource, string? jsonPath, long? lineNumber = null, long? position = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ConfigurationSource = configurationSource ?? string.Empty;
        JsonPath = jsonPath;
        LineNumber = lineNumber;
        Position = position;
    }

    /// <summary>The file path or URL the configuration came from; empty when unknown.</summary>
    public string ConfigurationSource { get; }

    /// <summary>The JSON path of the offending field, for example <c>gateways[1].pins[0]</c>; null when not about one field.</summary>
    public string? JsonPath { get; }

    /// <summary>The 1-based line of a JSON syntax error; null otherwise.</summary>
    public long? LineNumber { get; }

    /// <summary>The 1-based byte position in the line of a JSON syntax error; null otherwise.</summary>
    public long? Position { get; }

    /// <summary>Creates the exception for an invalid field.</summary>
    internal static TenantConfigurationException Invalid(string source, string jsonPath, string problem) =>
        new($"Tenant configuration '{source}' is invalid: {jsonPath}: {problem}", source, jsonPath);

    /// <summary>Creates the exception for a problem that is not about one field (missing file, HTTP error).</summary>
    internal static TenantConfigurationException CannotLoad(string source, string problem, Exception? innerException = null) =>
        new($"Could not load tenant configuration '{source}': {problem}", source, jsonPath: null, innerException: innerException);
}
