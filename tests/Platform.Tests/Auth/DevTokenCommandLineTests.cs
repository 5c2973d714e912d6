using Platform.DevToken;

namespace Platform.Tests.Auth;

public sealed class DevTokenCommandLineTests
{
    [Fact]
    public void Defaults_match_an_ingest_service_run_in_development_from_the_repository_root()
    {
        var request = DevTokenCommandLine.Parse([]);

        Assert.Equal("dev", request.Tenant);
        Assert.Equal(["group_api", "analytics_read"], request.Scopes);
        Assert.Equal(Path.Combine("ingest", "data", "dev-keys"), request.KeyDirectory);
        Assert.Equal("platform-dev", request.Issuer);
        Assert.Equal("platform", request.Audience);
    }

    [Fact]
    public void Scope_options_replace_the_default_scopes()
    {
        var request = DevTokenCommandLine.Parse(["--scope", "telemetry_apis", "--tenant", "acme", "--scope", "analytics_read"]);

        Assert.Equal(["telemetry_apis", "analytics_read"], request.Scopes);
        Assert.Equal("acme", request.Tenant);
    }

    [Theory]
    [InlineData("24h", 24 * 3600)]
    [InlineData("30m", 30 * 60)]
    [InlineData("3600s", 3600)]
    public void Lifetime_is_given_in_hours_minutes_or_seconds(string text, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), DevTokenCommandLine.ParseLifetime(text));
    }

    [Theory]
    [InlineData("24")]
    [InlineData("0h")]
    [InlineData("-5m")]
    [InlineData("1d")]
    [InlineData("h")]
    public void Lifetime_without_a_positive_amount_and_unit_is_refused(string text)
    {
        Assert.Throws<FormatException>(() => DevTokenCommandLine.ParseLifetime(text));
    }

    [Fact]
    public void Unknown_option_is_refused_by_name()
    {
        var failure = Assert.Throws<FormatException>(() => DevTokenCommandLine.Parse(["--tenat", "acme"]));

        Assert.Contains("--tenat", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Option_without_its_value_is_refused()
    {
        Assert.Throws<FormatException>(() => DevTokenCommandLine.Parse(["--tenant"]));
    }

    [Fact]
    public void Help_is_recognised()
    {
        Assert.True(DevTokenCommandLine.Parse(["--help"]).ShowHelp);
    }
}
