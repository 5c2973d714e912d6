using System.Text.RegularExpressions;

namespace Platform.Tests.Deployment;

/// <summary>The repository stands on its own: no document or comment points outside it, and every relative link resolves.</summary>
public sealed partial class RepositoryLinksTests
{
    private static readonly string[] TextExtensions = [".md", ".cs", ".sh", ".yaml", ".yml", ".json", ".props", ".py", ".tpl", ".txt", ".csproj", ".mjs"];

    private static readonly string[] SkippedDirectories = ["bin", "obj", "node_modules", ".git"];

    [Fact]
    public void No_file_refers_to_documents_outside_the_repository()
    {
        var offenders = TextFiles()
            .SelectMany(file => File.ReadLines(file).Select((line, index) => (file, line, number: index + 1)))
            .Where(hit => OutsideReference().IsMatch(hit.line))
            .Select(hit => $"{Path.GetRelativePath(Repository.Root, hit.file)}:{hit.number}: {hit.line.Trim()}")
            .ToList();

        Assert.True(offenders.Count == 0, "references outside the repository:\n" + string.Join('\n', offenders));
    }

    [Fact]
    public void Every_relative_link_in_a_markdown_file_resolves_inside_the_repository()
    {
        var root = Path.GetFullPath(Repository.Root) + Path.DirectorySeparatorChar;
        var broken = new List<string>();
        foreach (var file in TextFiles().Where(file => file.EndsWith(".md", StringComparison.Ordinal)))
        {
            foreach (Match link in MarkdownLink().Matches(File.ReadAllText(file)))
            {
                var target = link.Groups[1].Value.Split('#')[0];
                if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }

                var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, Uri.UnescapeDataString(target)));
                if (!resolved.StartsWith(root, StringComparison.Ordinal) || !(File.Exists(resolved) || Directory.Exists(resolved)))
                {
                    broken.Add($"{Path.GetRelativePath(Repository.Root, file)}: ({link.Groups[1].Value})");
                }
            }
        }

        Assert.True(broken.Count == 0, "links that do not resolve inside the repository:\n" + string.Join('\n', broken));
    }

    private static IEnumerable<string> TextFiles() =>
        Directory.EnumerateFiles(Repository.Root, "*", SearchOption.AllDirectories)
            .Where(file => TextExtensions.Contains(Path.GetExtension(file), StringComparer.Ordinal))
            .Where(file => !Path.GetRelativePath(Repository.Root, file).Split(Path.DirectorySeparatorChar).Any(SkippedDirectories.Contains))
            .Where(file => !file.EndsWith(nameof(RepositoryLinksTests) + ".cs", StringComparison.Ordinal));

    // A path that climbs out of the repository to the design folder beside it, or names that folder's documents.
    [GeneratedRegex(@"\.\./shared[/\\]|\bshared[/\\](docs|spec)[/\\]")]
    private static partial Regex OutsideReference();

    // [text](target): the target up to a closing parenthesis or a space (a title may follow).
    [GeneratedRegex(@"\]\(([^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();
}
