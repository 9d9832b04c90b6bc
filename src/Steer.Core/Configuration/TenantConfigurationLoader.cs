using System.Net;
using System.Net.Http.Headers;
using Steer.Security;

namespace Steer.Configuration;

/// <summary>
/// Finds and loads tenant configurations from files and from HTTPS URLs, validating them with
/// <see cref="TenantConfiguration.Parse"/>.
/// </summary>
/// <remarks>
/// A tenant's configuration URL is derived from its name (<see cref="DeriveUrl"/>): by default
/// <c>https://{tenant}.steer-config.net/v1/tenant.json</c>. The template can be overridden per call or with the
/// environment variable <c>STEER_CONFIG_URL_TEMPLATE</c>; it must contain <c>{tenant}</c>.
/// </remarks>
public static class TenantConfigurationLoader
{
    /// <summary>The default configuration URL template: <c>https://{tenant}.steer-config.net/v1/tenant.json</c>.</summary>
    public const string DefaultUrlTemplate = "https://{tenant}.steer-config.net/v1/tenant.json";

    /// <summary>The environment variable that overrides <see cref="DefaultUrlTemplate"/>: <c>STEER_CONFIG_URL_TEMPLATE</c>.</summary>
    public const string UrlTemplateEnvironmentVariable = "STEER_CONFIG_URL_TEMPLATE";

    /// <summary>The placeholder a URL template must contain: <c>{tenant}</c>.</summary>
    public const string TenantPlaceholder = "{tenant}";

    /// <summary>The largest configuration document accepted, in bytes: 1 MiB.</summary>
    public const int MaxDocumentSize = 1024 * 1024;

    /// <summary>How long a download may take, connection included: 30 seconds.</summary>
    public static readonly TimeSpan DownloadTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Derives a tenant's configuration URL from its name: the template with <c>{tenant}</c> replaced by the name.
    /// </summary>
    /// <param name="tenant">The tenant name; see <see cref="TenantConfiguration.IsValidTenantName"/>.</param>
    /// <param name="template">
    /// The URL template; when null, the value of <c>STEER_CONFIG_URL_TEMPLATE</c> if set, else <see cref="DefaultUrlTemplate"/>.
    /// </param>
    /// <returns>The absolute URL.</returns>
    /// <exception cref="ArgumentException">The tenant name is invalid, or the template lacks <c>{tenant}</c> or is not an absolute http(s) URL.</exception>
    public static Uri DeriveUrl(string tenant, string? template = null)
    {
        if (!TenantConfiguration.IsValidTenantName(tenant))
        {
            throw new ArgumentException($"Tenant name '{tenant}' is invalid: it {TenantConfiguration.TenantNameRule}.", nameof(tenant));
        }

        string origin = "The configuration URL template";
        if (template is null)
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable(UrlTemplateEnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
            {
                template = fromEnvironment.Trim();
                origin = $"The configuration URL template from {UrlTemplateEnvironmentVariable}";
            }
            else
            {
                template = DefaultUrlTemplate;
            }
        }

        if (!template.Contains(TenantPlaceholder, StringComparison.Ordinal))
        {
            throw new ArgumentException($"{origin}, '{template}', does not contain {TenantPlaceholder}: expected for example {DefaultUrlTemplate}.", nameof(template));
        }

        string url = template.Replace(TenantPlaceholder, tenant, StringComparison.Ordinal);
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"{origin}, '{template}', does not give an absolute https:// URL ('{url}').", nameof(template));
        }

        return uri;
    }

    /// <summary>Loads a tenant configuration from a file.</summary>
    /// <param name="path">The file path.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="TenantConfigurationException">The file is missing or unreadable (the message names the path) or invalid.</exception>
    public static Task<TenantConfiguration> LoadFileAsync(string path, CancellationToken cancellationToken = default) =>
        LoadFileAsync(path, expectedTenant: null, cancellationToken);

    /// <summary>Loads a tenant configuration from a file and checks that it is the expected tenant's.</summary>
    /// <param name="path">The file path.</param>
    /// <param name="expectedTenant">The tenant the configuration must be for; null to accept any.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="TenantConfigurationException">
    /// The file is missing or unreadable (the message names the path), invalid, or for another tenant.
    /// </exception>
    public static async Task<TenantConfiguration> LoadFileAsync(string path, string? expectedTenant, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        string json;
        try
        {
            var info = new FileInfo(fullPath);
            if (info.Exists && info.Length > MaxDocumentSize)
            {
                throw TenantConfigurationException.CannotLoad(fullPath, $"the file is {info.Length} bytes; a tenant configuration is at most {MaxDocumentSize} bytes");
            }

            json = await File.ReadAllTextAsync(fullPath, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw TenantConfigurationException.CannotLoad(fullPath, "the file does not exist", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw TenantConfigurationException.CannotLoad(fullPath, "permission denied reading the file", ex);
        }
        catch (IOException ex)
        {
            throw TenantConfigurationException.CannotLoad(fullPath, ex.Message, ex);
        }

        return CheckTenant(TenantConfiguration.Parse(json, fullPath), fullPath, expectedTenant);
    }

    /// <summary>Downloads a tenant configuration.</summary>
    /// <param name="url">The URL; https, or http for a loopback host only.</param>
    /// <param name="serverPin">
    /// When given, the server's certificate is accepted if and only if its key pin (see <see cref="CertificatePin"/>)
    /// equals this pin, whatever its chain; when null, the system's certificate trust applies.
    /// </param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="TenantConfigurationException">The URL is refused, the download failed (the message names the URL and the HTTP status), timed out, or the document is invalid.</exception>
    /// <exception cref="PinMismatchException">The server's certificate key does not match <paramref name="serverPin"/>.</exception>
    public static Task<TenantConfiguration> LoadUrlAsync(Uri url, string? serverPin, CancellationToken cancellationToken = default) =>
        LoadUrlCoreAsync(url, serverPin, expectedTenant: null, DownloadTimeout, cancellationToken);

    /// <summary>Downloads a tenant configuration and checks that it is the expected tenant's.</summary>
    /// <param name="url">The URL; https, or http for a loopback host only.</param>
    /// <param name="serverPin">When given, the only key pin accepted for the server's certificate; when null, system trust.</param>
    /// <param name="expectedTenant">The tenant the configuration must be for; null to accept any.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="TenantConfigurationException">The URL is refused, the download failed, timed out, the document is invalid or for another tenant.</exception>
    /// <exception cref="PinMismatchException">The server's certificate key does not match <paramref name="serverPin"/>.</exception>
    public static Task<TenantConfiguration> LoadUrlAsync(Uri url, string? serverPin, string? expectedTenant, CancellationToken cancellationToken = default) =>
        LoadUrlCoreAsync(url, serverPin, expectedTenant, DownloadTimeout, cancellationToken);

    /// <summary>
    /// Downloads a tenant's configuration from the URL derived from its name (<see cref="DeriveUrl"/>) and checks
    /// that the document is that tenant's.
    /// </summary>
    /// <param name="tenant">The tenant name.</param>
    /// <param name="serverPin">When given, the only key pin accepted for the server's certificate; when null, system trust.</param>
    /// <param name="urlTemplate">The URL template; null for the environment variable or the default.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="ArgumentException">The tenant name or the template is invalid.</exception>
    /// <exception cref="TenantConfigurationException">The download failed, timed out, or the document is invalid or for another tenant.</exception>
    /// <exception cref="PinMismatchException">The server's certificate key does not match <paramref name="serverPin"/>.</exception>
    public static Task<TenantConfiguration> LoadTenantAsync(string tenant, string? serverPin = null, string? urlTemplate = null, CancellationToken cancellationToken = default) =>
        LoadUrlCoreAsync(DeriveUrl(tenant, urlTemplate), serverPin, tenant, DownloadTimeout, cancellationToken);

    internal static async Task<TenantConfiguration> LoadUrlCoreAsync(Uri url, string? serverPin, string? expectedTenant, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        string source = url.IsAbsoluteUri ? url.AbsoluteUri : url.OriginalString;
        if (!url.IsAbsoluteUri)
        {
            throw TenantConfigurationException.CannotLoad(source, "the URL must be absolute, for example " + DefaultUrlTemplate);
        }

        bool isHttps = url.Scheme == Uri.UriSchemeHttps;
        if (!isHttps && !(url.Scheme == Uri.UriSchemeHttp && url.IsLoopback))
        {
            throw TenantConfigurationException.CannotLoad(source,
                $"only https:// URLs are allowed ({url.Scheme}:// is accepted only for localhost), so that the configuration cannot be altered in transit");
        }

        PinValidator? validator = null;
        if (serverPin is not null)
        {
            if (!CertificatePin.IsValidFormat(serverPin))
            {
                throw new ArgumentException($"The configuration server pin '{serverPin}' is invalid: it {CertificatePin.FormatDescription}.", nameof(serverPin));
            }

            if (!isHttps)
            {
                throw TenantConfigurationException.CannotLoad(source, "a server pin was given but the URL is not https://, so there is no certificate to check");
            }

            validator = new PinValidator([serverPin]);
        }

        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            AutomaticDecompression = DecompressionMethods.All,
            UseProxy = true,
        };
        if (validator is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = validator.CreateCallback();
        }

        using var client = new HttpClient(handler, disposeHandler: false)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = MaxDocumentSize,
        };
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Steer", typeof(TenantConfigurationLoader).Assembly.GetName().Version?.ToString(3) ?? "0"));
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);

        string json;
        try
        {
            using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeoutSource.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                string reason = string.IsNullOrEmpty(response.ReasonPhrase) ? response.StatusCode.ToString() : response.ReasonPhrase;
                throw TenantConfigurationException.CannotLoad(source, $"the server answered HTTP {(int)response.StatusCode} ({reason})");
            }

            json = await response.Content.ReadAsStringAsync(timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw TenantConfigurationException.CannotLoad(source, $"no complete answer within {timeout.TotalSeconds:0.#} seconds (timed out)", ex);
        }
        catch (HttpRequestException ex) when (validator is { IsMismatch: true, PresentedPin: string presented })
        {
            throw new PinMismatchException(
                $"Configuration server {url.Authority} presented certificate key pin {presented}, which is not the pin given for it " +
                $"(expected {serverPin}). Refusing to download the tenant configuration from {source}.",
                [serverPin!], presented, ex);
        }
        catch (HttpRequestException ex)
        {
            string detail = ex.InnerException is { } inner && inner.Message != ex.Message ? $"{ex.Message} ({inner.Message})" : ex.Message;
            throw TenantConfigurationException.CannotLoad(source, detail, ex);
        }

        return CheckTenant(TenantConfiguration.Parse(json, source), source, expectedTenant);
    }

    private static TenantConfiguration CheckTenant(TenantConfiguration configuration, string source, string? expectedTenant)
    {
        if (expectedTenant is not null && !string.Equals(configuration.Tenant, expectedTenant, StringComparison.Ordinal))
        {
            throw TenantConfigurationException.Invalid(source, "tenant",
                $"the document is for tenant '{configuration.Tenant}', but tenant '{expectedTenant}' was requested");
        }

        return configuration;
    }
}
