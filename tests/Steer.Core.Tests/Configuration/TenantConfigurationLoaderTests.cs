using Steer.Configuration;
using Xunit;

namespace Steer.Core.Tests.Configuration;

// Tests that read or set STEER_CONFIG_URL_TEMPLATE live in this one class, so they never run in parallel.
public sealed class TenantConfigurationLoaderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("steer-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void DeriveUrl_DefaultTemplate_DocumentedRule()
    {
        WithEnvironmentTemplate(null, () =>
        {
            Uri url = TenantConfigurationLoader.DeriveUrl("acme");

            Assert.Equal("https://acme.steer-config.net/v1/tenant.json", url.AbsoluteUri);
        });
    }

    [Fact]
    public void DeriveUrl_ExplicitTemplate_ReplacesTenant()
    {
        Uri url = TenantConfigurationLoader.DeriveUrl("acme-2", "https://config.example.net/tenants/{tenant}/config.json");

        Assert.Equal("https://config.example.net/tenants/acme-2/config.json", url.AbsoluteUri);
    }

    [Fact]
    public void DeriveUrl_EnvironmentTemplate_UsedWhenNoExplicitTemplate()
    {
        WithEnvironmentTemplate("https://127.0.0.1:8443/{tenant}.json", () =>
        {
            Assert.Equal("https://127.0.0.1:8443/acme.json", TenantConfigurationLoader.DeriveUrl("acme").AbsoluteUri);
            Assert.Equal("https://x.example/acme", TenantConfigurationLoader.DeriveUrl("acme", "https://x.example/{tenant}").AbsoluteUri);
        });
    }

    [Fact]
    public void DeriveUrl_EnvironmentTemplateWithoutPlaceholder_NamesTheVariable()
    {
        WithEnvironmentTemplate("https://config.example.net/tenant.json", () =>
        {
            ArgumentException ex = Assert.Throws<ArgumentException>(() => TenantConfigurationLoader.DeriveUrl("acme"));

            Assert.Contains("STEER_CONFIG_URL_TEMPLATE", ex.Message, StringComparison.Ordinal);
            Assert.Contains("{tenant}", ex.Message, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData("Acme")]
    [InlineData("")]
    [InlineData("acme.evil.example/x?")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void DeriveUrl_InvalidTenant_ArgumentExceptionWithRule(string tenant)
    {
        ArgumentException ex = Assert.Throws<ArgumentException>(() => TenantConfigurationLoader.DeriveUrl(tenant, "https://x.example/{tenant}"));

        Assert.Equal("tenant", ex.ParamName);
        Assert.Contains("1 to 63 characters", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://config.example.net/tenant.json")]
    [InlineData("{tenant}")]
    [InlineData("ftp://config.example.net/{tenant}.json")]
    public void DeriveUrl_BadTemplate_ArgumentException(string template)
    {
        ArgumentException ex = Assert.Throws<ArgumentException>(() => TenantConfigurationLoader.DeriveUrl("acme", template));

        Assert.Contains(template, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadFileAsync_ValidFile_Loads()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string path = Path.Combine(_directory, "tenant.json");
        await File.WriteAllTextAsync(path, TestDocuments.Full, ct);

        TenantConfiguration config = await TenantConfigurationLoader.LoadFileAsync(path, ct);

        Assert.Equal("acme", config.Tenant);
        Assert.Equal(2, config.Gateways.Count);
    }

    [Fact]
    public async Task LoadFileAsync_MissingFile_NamesThePath()
    {
        string path = Path.Combine(_directory, "nope", "tenant.json");

        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(
            () => TenantConfigurationLoader.LoadFileAsync(path, TestContext.Current.CancellationToken));

        Assert.Equal($"Could not load tenant configuration '{path}': the file does not exist", ex.Message);
        Assert.Equal(path, ex.ConfigurationSource);
    }

    [Fact]
    public async Task LoadFileAsync_InvalidFile_MessageNamesFileAndField()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string path = Path.Combine(_directory, "bad.json");
        await File.WriteAllTextAsync(path, TestDocuments.With("gateways/1/port", "0"), ct);

        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(() => TenantConfigurationLoader.LoadFileAsync(path, ct));

        Assert.StartsWith($"Tenant configuration '{path}' is invalid: gateways[1].port: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadFileAsync_OtherTenant_Refused()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string path = Path.Combine(_directory, "tenant.json");
        await File.WriteAllTextAsync(path, TestDocuments.Minimal("globex"), ct);

        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(
            () => TenantConfigurationLoader.LoadFileAsync(path, "acme", ct));

        Assert.Equal("tenant", ex.JsonPath);
        Assert.Contains("the document is for tenant 'globex', but tenant 'acme' was requested", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadFileAsync_TooLarge_Refused()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string path = Path.Combine(_directory, "huge.json");
        await File.WriteAllTextAsync(path, new string(' ', TenantConfigurationLoader.MaxDocumentSize + 1), ct);

        TenantConfigurationException ex = await Assert.ThrowsAsync<TenantConfigurationException>(() => TenantConfigurationLoader.LoadFileAsync(path, ct));

        Assert.Contains("at most", ex.Message, StringComparison.Ordinal);
    }

    private static void WithEnvironmentTemplate(string? value, Action action)
    {
        string? saved = Environment.GetEnvironmentVariable(TenantConfigurationLoader.UrlTemplateEnvironmentVariable);
        Environment.SetEnvironmentVariable(TenantConfigurationLoader.UrlTemplateEnvironmentVariable, value);
        try
        {
            action();
        }
        finally
        {
            Environment.SetEnvironmentVariable(TenantConfigurationLoader.UrlTemplateEnvironmentVariable, saved);
        }
    }
}
