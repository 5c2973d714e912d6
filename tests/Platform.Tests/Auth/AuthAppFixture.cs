namespace Platform.Tests.Auth;

/// <summary>One app with the RSA and EC test keys, shared by a test class and stopped after it.</summary>
public sealed class AuthAppFixture : IAsyncLifetime
{
    internal TestSigningKeys Keys { get; } = new();

    internal AuthTestApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await AuthTestApp.StartAsync(AuthTestApp.Settings(Keys));

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        Keys.Dispose();
    }
}
