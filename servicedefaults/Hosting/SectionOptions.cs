using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Hosting;

/// <summary>Options bound from one configuration section and checked when the host starts.</summary>
public static class SectionOptions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> from <paramref name="section"/>, checks its data annotations at start and
    /// reports each problem under its full key (<c>GroupApi:MaxEventsPerRequest: ...</c>), so a wrong setting stops
    /// the service with a message an operator can act on.
    /// </summary>
    public static OptionsBuilder<TOptions> AddSectionOptions<TOptions>(this IHostApplicationBuilder builder, string section)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IValidateOptions<TOptions>>(new AnnotationValidator<TOptions>(section));
        return builder.Services.AddOptions<TOptions>()
            .Bind(builder.Configuration.GetSection(section))
            .ValidateOnStart();
    }

    private sealed class AnnotationValidator<TOptions>(string section) : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            var results = new List<ValidationResult>();
            if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
            {
                return ValidateOptionsResult.Success;
            }

            return ValidateOptionsResult.Fail(results.Select(result =>
                $"{section}:{string.Join(", ", result.MemberNames)}: {result.ErrorMessage}"));
        }
    }
}
