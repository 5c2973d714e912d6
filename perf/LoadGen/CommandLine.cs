using System.Globalization;

namespace Platform.Perf.LoadGen;

/// <summary>LoadGen's command lines: <c>--name value</c> pairs, and flags that take no value.</summary>
internal static class CommandLine
{
    public static Dictionary<string, string> Parse(string[] args, params string[] flags)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{args[i]}'");
            }

            var name = args[i][2..];
            if (name == "help" || flags.Contains(name))
            {
                options[name] = "true";
            }
            else if (i + 1 < args.Length)
            {
                options[name] = args[++i];
            }
            else
            {
                throw new ArgumentException($"--{name} needs a value");
            }
        }

        return options;
    }

    public static double? Number(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var text) ? double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture) : null;
}
