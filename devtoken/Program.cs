using Platform.ServiceDefaults.Auth;

namespace Platform.DevToken;

/// <summary>
/// LOCAL DEVELOPMENT ONLY: prints a token signed with the development key pair (creating the pair
/// when absent). Output is the token alone on stdout; notes and errors go to stderr.
/// </summary>
internal static class Program
{
    private const int UsageError = 2;

    public static int Main(string[] args)
    {
        DevTokenRequest request;
        try
        {
            request = DevTokenCommandLine.Parse(args);
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"devtoken: {ex.Message}");
            Console.Error.WriteLine(DevTokenCommandLine.Usage);
            return UsageError;
        }

        if (request.ShowHelp)
        {
            Console.WriteLine(DevTokenCommandLine.Usage);
            return 0;
        }

        var directory = Path.GetFullPath(request.KeyDirectory);
        if (DevelopmentKeys.EnsureKeyPair(directory))
        {
            Console.Error.WriteLine($"devtoken: created a development key pair in {directory} (local development only).");
        }

        var token = DevelopmentKeys.MintToken(
            directory,
            request.Issuer,
            request.Audience,
            request.Tenant,
            request.Scopes,
            request.Lifetime,
            request.TenantClaim);
        Console.WriteLine(token);
        return 0;
    }
}
