using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Hosting;

/// <summary>
/// The one way settings enter the services: a class per configuration section, bound from that section and checked
/// when the host starts, so a wrong setting stops the process with a message naming its full key.
/// <list type="bullet">
/// <item>What one setting must be (present, in a range, a pattern, every item of a list) is a data annotation on the
/// property, checked by the validator the options source generator writes: an empty
/// <c>[OptionsValidator] partial class XOptionsValidator : IValidateOptions&lt;XOptions&gt;</c>.</item>
/// <item>What annotations cannot say (a relation between settings, in the section or across sections, or a check that
/// needs the host: its environment, its files) is an <c>XOptionsRules : IValidateOptions&lt;XOptions&gt;</c> added with
/// <see cref="AddRules{TOptions, TRules}"/>; its messages name the keys themselves.</item>
/// <item>A choice among names (a backend) is an enum; a value that is none of its names is refused naming the key and
/// the names, before anything is bound.</item>
/// </list>
/// </summary>
public static class SectionOptions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> from <paramref name="section"/> and checks it at start with
    /// <typeparamref name="TValidator"/> (the generated validator of its annotations), reporting each problem under its
    /// full key (<c>The field GroupApi:MaxEventsPerRequest must be between 1 and 100000.</c>).
    /// </summary>
    public static OptionsBuilder<TOptions> AddSectionOptions<TOptions, TValidator>(this IHostApplicationBuilder builder, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration.GetSection(section);
        builder.Services.AddSingleton<IValidateOptions<TOptions>>(new SectionValidator<TOptions>(section, new TValidator()));
        // Bind as OptionsBuilder.Bind does (including reloads), with the enum check first.
        builder.Services.AddSingleton<IOptionsChangeTokenSource<TOptions>>(new ConfigurationChangeTokenSource<TOptions>(Options.DefaultName, configuration));
        builder.Services.AddSingleton<IConfigureOptions<TOptions>>(new ConfigureNamedOptions<TOptions>(Options.DefaultName, options => Bind(section, configuration, options)));
        return builder.Services.AddOptions<TOptions>().ValidateOnStart();
    }

    /// <summary>Adds the rules annotations cannot state (see <see cref="SectionOptions"/>); several may be added.</summary>
    public static OptionsBuilder<TOptions> AddRules<TOptions, TRules>(this OptionsBuilder<TOptions> options)
        where TOptions : class
        where TRules : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Services.AddSingleton<IValidateOptions<TOptions>, TRules>();
        return options;
    }

    /// <summary>
    /// Checks options outside a host exactly as the start does: the generated validator's findings under full keys, then
    /// each of <paramref name="rules"/>. For tests, and for settings read from elsewhere (a reloaded file).
    /// </summary>
    public static ValidateOptionsResult Validate<TOptions, TValidator>(string section, TOptions options, params IValidateOptions<TOptions>[] rules)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>, new()
    {
        ArgumentNullException.ThrowIfNull(rules);
        var failures = new List<string>();
        foreach (var validator in rules.Prepend(new SectionValidator<TOptions>(section, new TValidator())))
        {
            var result = validator.Validate(Options.DefaultName, options);
            if (result.Failed)
            {
                failures.AddRange(result.Failures);
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Bind<TOptions>(string section, IConfigurationSection configuration, TOptions options)
        where TOptions : class
    {
        var problems = new List<string>();
        CheckEnums(section, configuration, typeof(TOptions), problems);
        if (problems.Count == 0)
        {
            try
            {
                configuration.Bind(options);
            }
            catch (InvalidOperationException ex)
            {
                // The binder's message names the key and the value ("Failed to convert configuration value 'ten' at 'Query:MaxTop' ...").
                problems.Add(ex.Message);
            }
        }

        if (problems.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(TOptions), problems);
        }
    }

    /// <summary>
    /// An enum setting must be one of the enum's names (any case): the binder would also take a number, and its own
    /// refusal of an unknown name does not say which names there are. Nested sections marked
    /// <see cref="ValidateObjectMembersAttribute"/> are checked too.
    /// </summary>
    private static void CheckEnums(string path, IConfigurationSection configuration, Type type, List<string> problems)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var enumType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (enumType.IsEnum)
            {
                var value = configuration[property.Name];
                var names = Enum.GetNames(enumType);
                if (value is not null && !names.Contains(value, StringComparer.OrdinalIgnoreCase))
                {
                    problems.Add($"{path}:{property.Name} must be one of {string.Join(", ", names)} (got '{value}').");
                }
            }
            else if (property.IsDefined(typeof(ValidateObjectMembersAttribute)))
            {
                CheckEnums($"{path}:{property.Name}", configuration.GetSection(property.Name), property.PropertyType, problems);
            }
        }
    }
}

/// <summary>
/// Runs a generated validator with the section as the options name and reports its findings under full keys: the
/// generator names a setting <c>Section.Nested.Member</c> and prefixes the member (<c>Member: The field ...</c>); this
/// turns that into <c>The field Section:Nested:Member ...</c>, the key an operator sets.
/// </summary>
public sealed class SectionValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : class
{
    private readonly string _section;
    private readonly IValidateOptions<TOptions> _generated;
    private readonly Regex _path;
    private readonly Regex _memberPrefix = new(@"^\w+(, \w+)*: ", RegexOptions.CultureInvariant);

    public SectionValidator(string section, IValidateOptions<TOptions> generated)
    {
        ArgumentException.ThrowIfNullOrEmpty(section);
        _section = section;
        _generated = generated;
        _path = new Regex($@"(?<![\w:.]){Regex.Escape(section)}((?:\.\w+)+)", RegexOptions.CultureInvariant);
    }

    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var result = _generated.Validate(_section, options);
        return result.Failed ? ValidateOptionsResult.Fail(result.Failures.Select(Keyed)) : result;
    }

    private string Keyed(string failure)
    {
        var message = _memberPrefix.Replace(failure, string.Empty, 1);
        return _path.Replace(message, match => _section + match.Groups[1].Value.Replace('.', ':'));
    }
}
