using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Auth.WriteKeys;

namespace Platform.Ingest.Segment;

/// <summary>
/// <c>dotnet run --project ingest -- write-key --tenant T [--name N] [--scope S ...]</c>: makes a new write key, prints
/// it once, and prints the configuration that grants it (only its hash), for appsettings, environment variables or
/// the JSON file a Kubernetes Secret mounts (<c>WriteKeys:File</c>). Runs in the shipped image too (no SDK needed).
/// </summary>
internal static class WriteKeyCommand
{
    public const string Name = "write-key";

    public const string Usage =
        """
        write-key: makes a write key for Segment-compatible SDKs and prints the configuration that accepts it.

        usage: dotnet run --project ingest -- write-key --tenant T [options]
          --tenant T     the one tenant the key writes into (required)
          --name N       the key's name in configuration, for logs and rotation  (default: T-<date>-<random>)
          --scope S      a granted scope; repeat for several                     (default: group_api)
          --save FILE    also add the key to this JSON key file (created when missing; relative to ingest's
                         content root, like WriteKeys:File: ingest/ under dotnet run), e.g. the
                         file both services watch in Development: data/write-keys.json
          -h, --help     show this text

        The key is printed once and stored nowhere: configure the printed hash on ingest and the gateway alike.
        To rotate, add a new key under another name, move the SDKs to it, then set the old one's Revoked to true.
        """;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == Name;

    /// <returns>The process exit code.</returns>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        string? tenant = null, name = null, save = null;
        var scopes = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var option = args[i];
            if (option is "-h" or "--help")
            {
                output.WriteLine(Usage);
                return 0;
            }

            if (option is not ("--tenant" or "--name" or "--scope" or "--save") || i + 1 >= args.Count)
            {
                error.WriteLine(option is "--tenant" or "--name" or "--scope" or "--save" ? $"{option} needs a value" : $"unknown option '{option}'");
                error.WriteLine(Usage);
                return 2;
            }

            var value = args[++i];
            switch (option)
            {
                case "--tenant":
                    tenant = value;
                    break;
                case "--name":
                    name = value;
                    break;
                case "--save":
                    save = value;
                    break;
                default:
                    scopes.Add(value);
                    break;
            }
        }

        if (!WriteKeyHash.IsValidTenant(tenant))
        {
            error.WriteLine("--tenant is required: a non-empty name of at most 128 characters without control characters");
            return 2;
        }

        if (scopes.Count == 0)
        {
            scopes.Add(PlatformScopes.GroupApi);
        }

        if (scopes.Find(scope => !WriteKeyHash.KnownScopes.Contains(scope, StringComparer.Ordinal)) is { } unknown)
        {
            error.WriteLine($"'{unknown}' is not a platform scope ({string.Join(", ", WriteKeyHash.KnownScopes)})");
            return 2;
        }

        var key = WriteKeyHash.NewKey();
        name ??= $"{Sanitize(tenant)}-{DateTime.UtcNow:yyyyMMdd}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";
        if (name.Length == 0 || name.Contains(':', StringComparison.Ordinal) || name.Any(char.IsWhiteSpace))
        {
            error.WriteLine("--name must be non-empty, without ':' or spaces (it is a configuration key)");
            return 2;
        }

        var hash = WriteKeyHash.Of(key);
        if (save is not null && SaveProblem(save, name, hash, tenant, scopes) is { } problem)
        {
            error.WriteLine(problem);
            return 1;
        }

        output.WriteLine("Write key (give it to the SDK as its write key; it is not shown again):");
        output.WriteLine($"  {key}");
        output.WriteLine();
        output.WriteLine("Configuration, on ingest and the gateway alike (only the hash; as environment variables):");
        output.WriteLine($"  WriteKeys__Keys__{name}__Sha256={hash}");
        output.WriteLine($"  WriteKeys__Keys__{name}__Tenant={tenant}");
        for (var i = 0; i < scopes.Count; i++)
        {
            output.WriteLine($"  WriteKeys__Keys__{name}__Scopes__{i}={scopes[i]}");
        }

        output.WriteLine();
        output.WriteLine("or as JSON (appsettings, or the file a Secret mounts at WriteKeys:File; merge into its Keys):");
        var section = new Dictionary<string, object>
        {
            [WriteKeyOptions.Section] = new Dictionary<string, object>
            {
                ["Keys"] = new Dictionary<string, object>
                {
                    [name] = new Dictionary<string, object> { ["Sha256"] = hash, ["Tenant"] = tenant, ["Scopes"] = scopes },
                },
            },
        };
        output.WriteLine(JsonSerializer.Serialize(section, Indented));
        if (save is not null)
        {
            output.WriteLine();
            output.WriteLine($"Added to {Path.GetFullPath(save)}: services watching that file accept the key within seconds.");
        }

        return 0;
    }

    /// <summary>Adds the key's entry to a JSON key file (creating it), replacing the file whole; the problem, or null.</summary>
    private static string? SaveProblem(string path, string name, string hash, string tenant, List<string> scopes)
    {
        try
        {
            var root = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject : new JsonObject();
            if (root is null)
            {
                return $"{path} does not hold a JSON object";
            }

            if (root[WriteKeyOptions.Section] is not JsonObject section)
            {
                root[WriteKeyOptions.Section] = section = new JsonObject();
            }

            if (section["Keys"] is not JsonObject keys)
            {
                section["Keys"] = keys = new JsonObject();
            }

            if (keys.ContainsKey(name))
            {
                return $"{path} already holds a key named '{name}'; choose another --name";
            }

            keys[name] = new JsonObject
            {
                ["Sha256"] = hash,
                ["Tenant"] = tenant,
                ["Scopes"] = new JsonArray([.. scopes.Select(static scope => (JsonNode?)JsonValue.Create(scope))]),
            };
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var temporary = path + ".tmp";
            File.WriteAllText(temporary, root.ToJsonString(Indented) + Environment.NewLine);
            File.Move(temporary, path, overwrite: true);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return $"cannot save to {path}: {ex.Message}";
        }
    }

    private static string Sanitize(string tenant) =>
        new([.. tenant.Select(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-')]);
}
