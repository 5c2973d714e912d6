using System.Text;

namespace Platform.Tests.Deployment;

/// <summary>A Dockerfile read as its instructions (continuation lines joined, comments dropped), by build stage.</summary>
internal sealed class Dockerfile
{
    private Dockerfile(IReadOnlyList<Stage> stages) => Stages = stages;

    public IReadOnlyList<Stage> Stages { get; }

    public Stage Final => Stages[^1];

    public static Dockerfile Load(string path)
    {
        var stages = new List<Stage>();
        var instruction = new StringBuilder();
        foreach (var rawLine in File.ReadLines(path))
        {
            var line = rawLine.Trim();
            if (instruction.Length == 0 && (line.Length == 0 || line.StartsWith('#')))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                instruction.Append(line.AsSpan(0, line.Length - 1)).Append(' ');
                continue;
            }

            instruction.Append(line);
            var text = instruction.ToString().Trim();
            instruction.Clear();
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            var keyword = text[..space].ToUpperInvariant();
            var arguments = text[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                stages.Add(new Stage(arguments));
            }

            stages[^1].Instructions.Add(new Instruction(keyword, arguments));
        }

        return new Dockerfile(stages);
    }

    internal sealed record Instruction(string Keyword, string Arguments);

    internal sealed class Stage(string from)
    {
        /// <summary>The FROM arguments, e.g. "mcr.microsoft.com/dotnet/sdk:10.0 AS build".</summary>
        public string From { get; } = from;

        public List<Instruction> Instructions { get; } = [];

        public IEnumerable<string> Runs(string command) =>
            Instructions.Where(i => i.Keyword == "RUN" && i.Arguments.StartsWith(command, StringComparison.Ordinal)).Select(i => i.Arguments);

        public int IndexOf(Func<Instruction, bool> match) => Instructions.FindIndex(i => match(i));
    }
}
