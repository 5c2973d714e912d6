using System.ComponentModel.DataAnnotations;

namespace Platform.ServiceDefaults.Hosting;

// Data annotations for settings that the built-in ones cannot state, checked by the generated options validators like
// any other (see SectionOptions). Messages start with the setting's name as the validator gives it; a list item is
// named by its index after a dot, which SectionValidator turns into the key (Auth:PublicKeyFiles:1).

/// <summary>No item of a list of strings is empty or white space.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NoEmptyItemsAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        var index = 0;
        foreach (var item in value as IEnumerable<string> ?? [])
        {
            if (string.IsNullOrWhiteSpace(item))
            {
                return new ValidationResult($"{validationContext.DisplayName}.{index} is empty.");
            }

            index++;
        }

        return ValidationResult.Success;
    }
}

/// <summary>Every item of a list of strings is one of the allowed values (ordinal).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ItemsAllowedAttribute(params string[] allowed) : ValidationAttribute
{
    public IReadOnlyList<string> Allowed { get; } = allowed;

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        foreach (var item in value as IEnumerable<string> ?? [])
        {
            if (!Allowed.Contains(item, StringComparer.Ordinal))
            {
                return new ValidationResult($"{validationContext.DisplayName} contains '{item}', which is not allowed; use only {string.Join(", ", Allowed)}.");
            }
        }

        return ValidationResult.Success;
    }
}

/// <summary>
/// An absolute http or https URL; on a list, every item. With <see cref="BaseAddress"/>, nothing after the authority
/// (a base address to which paths are appended). Null or empty passes: combine with <see cref="RequiredAttribute"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class HttpUrlAttribute : ValidationAttribute
{
    public bool BaseAddress { get; set; }

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        if (value is string single)
        {
            return single.Length == 0 || IsValidUrl(single) ? ValidationResult.Success : Problem(validationContext.DisplayName, single);
        }

        var index = 0;
        foreach (var item in value as IEnumerable<string> ?? [])
        {
            if (!IsValidUrl(item))
            {
                return Problem($"{validationContext.DisplayName}.{index}", item);
            }

            index++;
        }

        return ValidationResult.Success;
    }

    private bool IsValidUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && (!BaseAddress || uri.PathAndQuery == "/");

    private ValidationResult Problem(string name, string text) => new(BaseAddress
        ? $"{name} must be an absolute http(s) address without a path (got '{text}')."
        : $"{name} must be an absolute http(s) URL (got '{text}').");
}

/// <summary>A path without characters the file system refuses. Null or empty passes: combine with <see cref="RequiredAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PathAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        return value is string path && path.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0
            ? new ValidationResult($"{validationContext.DisplayName} contains characters that are not valid in a path.")
            : ValidationResult.Success;
    }
}

/// <summary>A file name without directory parts. Null or empty passes: combine with <see cref="RequiredAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class FileNameAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        return value is string { Length: > 0 } name && (name.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name is "." or "..")
            ? new ValidationResult($"{validationContext.DisplayName} must be a file name without directory parts (got '{name}').")
            : ValidationResult.Success;
    }
}

/// <summary>A StackExchange.Redis configuration string the client can parse. Null or empty passes (no Redis).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RedisConfigurationAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        if (value is not string { Length: > 0 } configuration)
        {
            return ValidationResult.Success;
        }

        try
        {
            _ = StackExchange.Redis.ConfigurationOptions.Parse(configuration);
            return ValidationResult.Success;
        }
        catch (ArgumentException ex)
        {
            return new ValidationResult($"{validationContext.DisplayName} cannot be parsed: {ex.Message}");
        }
    }
}
