using System.Reflection;
using Microsoft.Extensions.Options;

namespace Platform.Tests.Hosting;

/// <summary>
/// One options pattern (see servicedefaults/Hosting/SectionOptions.cs): every section class names its section in
/// <c>Section</c> and has a validator written by the options source generator beside it.
/// </summary>
public sealed class OptionsConventionTests
{
    public static TheoryData<string> SectionClasses => new(Sections().Select(type => type.AssemblyQualifiedName!));

    [Theory]
    [MemberData(nameof(SectionClasses))]
    public void A_section_class_has_a_generated_validator(string sectionClass)
    {
        var type = Type.GetType(sectionClass, throwOnError: true)!;

        var validator = type.Assembly.GetTypes().SingleOrDefault(candidate =>
            candidate.GetCustomAttribute<OptionsValidatorAttribute>() is not null
            && typeof(IValidateOptions<>).MakeGenericType(type).IsAssignableFrom(candidate));

        Assert.True(validator is not null, $"{type.Name} has no [OptionsValidator] class validating it");
    }

    [Fact]
    public void Every_section_class_names_its_section_the_same_way()
    {
        var other = Assemblies()
            .SelectMany(assembly => assembly.GetTypes())
            .Where(type => type.GetField("SectionName", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static) is not null)
            .Select(type => type.FullName)
            .ToList();

        Assert.Empty(other);
        Assert.True(Sections().Count() >= 19, $"found {Sections().Count()} section classes");
    }

    private static IEnumerable<Type> Sections() => Assemblies()
        .SelectMany(assembly => assembly.GetTypes())
        .Where(type => type.IsClass && type.Name.EndsWith("Options", StringComparison.Ordinal) && type.Namespace?.StartsWith("Platform.", StringComparison.Ordinal) == true)
        .Where(type => type.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true });

    private static Assembly[] Assemblies() =>
        [typeof(Program).Assembly, typeof(Platform.Gateway.Proxy.ProxyOptions).Assembly, typeof(Platform.ServiceDefaults.Hosting.SectionOptions).Assembly];
}
