using System.Xml.Linq;

namespace Platform.Tests.Deployment;

/// <summary>
/// The Dockerfiles at the repository root. No Docker engine exists here, so the image itself is never built; instead the
/// exact <c>dotnet publish</c> each Dockerfile runs is run here into a temporary directory, and the Dockerfile's shape
/// (restore layer, non-root runtime stage, entry point) is checked against the projects.
/// </summary>
public sealed class ContainerImageTests
{
    public static TheoryData<string, string> Services => new()
    {
        { "Dockerfile.gateway", "gateway/Platform.Gateway.csproj" },
        { "Dockerfile.ingest", "ingest/Platform.Ingest.csproj" },
    };

    [Theory]
    [MemberData(nameof(Services))]
    public async Task The_Dockerfiles_publish_command_produces_the_entry_assembly(string dockerfile, string project)
    {
        var file = Dockerfile.Load(Repository.PathOf(dockerfile));
        var publish = Assert.Single(file.Stages[0].Runs("dotnet publish"));
        var arguments = Split(publish);
        var output = Directory.CreateTempSubdirectory("platform-publish-");
        try
        {
            var outputIndex = arguments.IndexOf("--output");
            Assert.True(outputIndex > 0, $"the publish command names its --output: {publish}");
            arguments[outputIndex + 1] = output.FullName;
            Assert.Contains(project, arguments);

            // The build stage restores the same project first; here the test build has restored it already.
            var result = await ExternalCommand.RunAsync(arguments[0], arguments.Skip(1), Repository.Root, TimeSpan.FromMinutes(8));

            Assert.True(result.ExitCode == 0, result.Describe(publish));
            var entry = EntryAssembly(file);
            Assert.True(File.Exists(Path.Combine(output.FullName, entry)), $"{entry} is not in the publish output");
            Assert.True(File.Exists(Path.Combine(output.FullName, Path.ChangeExtension(entry, ".runtimeconfig.json"))));
            Assert.True(File.Exists(Path.Combine(output.FullName, "appsettings.json")));
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void The_restore_layer_copies_every_project_file_the_service_references(string dockerfile, string project)
    {
        var build = Dockerfile.Load(Repository.PathOf(dockerfile)).Stages[0];
        var restore = build.IndexOf(i => i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet restore", StringComparison.Ordinal));
        Assert.True(restore >= 0, "the build stage restores before copying sources");
        var copiedBeforeRestore = build.Instructions.Take(restore)
            .Where(i => i.Keyword == "COPY")
            .SelectMany(i => Split(i.Arguments).SkipLast(1))
            .ToHashSet();

        foreach (var needed in ProjectClosure(project).Append("Directory.Build.props").Append("Directory.Packages.props"))
        {
            Assert.Contains(needed, copiedBeforeRestore);
        }

        var sourcesCopied = build.Instructions.Skip(restore).Any(i => i.Keyword == "COPY" && i.Arguments.StartsWith(project.Split('/')[0] + "/", StringComparison.Ordinal));
        Assert.True(sourcesCopied, "sources are copied after the restore layer");
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void The_runtime_stage_is_the_aspnet_image_running_as_its_non_root_user(string dockerfile, string project)
    {
        _ = project;
        var file = Dockerfile.Load(Repository.PathOf(dockerfile));
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", file.Stages[0].From, StringComparison.Ordinal);
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", file.Final.From, StringComparison.Ordinal);

        var user = file.Final.Instructions.Last(i => i.Keyword == "USER");
        Assert.Equal("1654", user.Arguments);
        var copies = file.Final.Instructions.Where(i => i.Keyword == "COPY").ToList();
        Assert.All(copies, copy => Assert.StartsWith("--from=build ", copy.Arguments, StringComparison.Ordinal));
        Assert.Contains(file.Final.Instructions, i => i.Keyword == "LABEL" && i.Arguments.Contains("org.opencontainers.image.title=", StringComparison.Ordinal));
        var environment = string.Join(' ', file.Final.Instructions.Where(i => i.Keyword == "ENV").Select(i => i.Arguments));
        Assert.Contains("ASPNETCORE_HTTP_PORTS=8080", environment, StringComparison.Ordinal);
        Assert.Contains("TMPDIR=/tmp", environment, StringComparison.Ordinal);
        Assert.DoesNotContain(file.Final.Instructions, i => i.Keyword == "HEALTHCHECK");
    }

    [Fact]
    public void The_ingest_image_keeps_its_data_outside_the_read_only_application_directory()
    {
        var file = Dockerfile.Load(Repository.PathOf("Dockerfile.ingest"));
        var environment = string.Join(' ', file.Final.Instructions.Where(i => i.Keyword == "ENV").Select(i => i.Arguments));
        Assert.Contains("Storage__DuckDb__DataDirectory=/var/lib/platform/ingest", environment, StringComparison.Ordinal);
        Assert.Contains("Log__Directory=/var/lib/platform/ingest/log", environment, StringComparison.Ordinal);
        Assert.Contains(file.Final.Instructions, i => i.Keyword == "VOLUME" && i.Arguments.Contains("/var/lib/platform/ingest", StringComparison.Ordinal));
    }

    [Fact]
    public void The_ingest_image_leaves_out_DuckDB_native_libraries_for_other_operating_systems()
    {
        // Pruned in the build stage: deleting in the runtime stage would not shrink the layer they were copied in.
        var build = Dockerfile.Load(Repository.PathOf("Dockerfile.ingest")).Stages[0];
        var prune = Assert.Single(build.Runs("rm -rf /app/publish/runtimes/"));

        Assert.Contains("runtimes/win-*", prune, StringComparison.Ordinal);
        Assert.Contains("runtimes/osx*", prune, StringComparison.Ordinal);
    }

    [Fact]
    public void The_docker_context_leaves_out_build_outputs_and_local_data()
    {
        var ignored = File.ReadAllLines(Repository.PathOf(".dockerignore")).Select(l => l.Trim()).ToHashSet();
        foreach (var pattern in new[] { "**/bin/", "**/obj/", "**/data/", ".git" })
        {
            Assert.Contains(pattern, ignored);
        }
    }

    private static string EntryAssembly(Dockerfile file)
    {
        var entrypoint = file.Final.Instructions.Last(i => i.Keyword == "ENTRYPOINT").Arguments;
        var parts = System.Text.Json.JsonSerializer.Deserialize<string[]>(entrypoint)!;
        Assert.Equal("dotnet", parts[0]);
        return parts[1];
    }

    /// <summary>The project and every project it references, transitively, as repository-relative paths.</summary>
    private static HashSet<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current))
            {
                continue;
            }

            var directory = Path.GetDirectoryName(Repository.PathOf(current))!;
            foreach (var reference in XDocument.Load(Repository.PathOf(current)).Descendants("ProjectReference"))
            {
                var full = Path.GetFullPath(Path.Combine(directory, reference.Attribute("Include")!.Value));
                pending.Push(Path.GetRelativePath(Repository.Root, full).Replace('\\', '/'));
            }
        }

        return seen;
    }

    private static List<string> Split(string arguments) =>
        [.. arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
