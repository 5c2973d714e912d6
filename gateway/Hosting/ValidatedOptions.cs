using Microsoft.Extensions.Options;

namespace Platform.Gateway.Hosting;

/// <summary>Options that can list their own problems, each message naming the configuration key.</summary>
internal interface IValidatedOptions
{
    IEnumerable<string> Problems();
}

internal static class ValidatedOptions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> from <paramref name="section"/> and checks it when the host starts,
    /// so a wrong setting stops the gateway with messages that name the key instead of failing requests later.
    /// </summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions>(this IHostApplicationBuilder builder, string section)
        where TOptions : class, IValidatedOptions
    {
        builder.Services.AddSingleton<IValidateOptions<TOptions>, Validator<TOptions>>();
        return builder.Services.AddOptions<TOptions>()
            .Bind(builder.Configuration.GetSection(section))
            .ValidateOnStart();
    }

    private sealed class Validator<TOptions> : IValidateOptions<TOptions>
        where TOptions : class, IValidatedOptions
    {
        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var problems = options.Problems().ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
