using System.Runtime.InteropServices;

namespace Platform.Perf.LogBench;

/// <summary>
/// Drops a directory's files from the page cache (posix_fadvise DONTNEED; the pages are clean once fsynced), so a
/// recovery reads from the disk as after a reboot, without dropping the whole machine's cache under other people's work.
/// </summary>
internal static partial class PageCache
{
    private const int DontNeed = 4;

    public static void Drop(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            _ = PosixFadvise((int)handle.DangerousGetHandle(), 0, 0, DontNeed);
        }
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(int fd, long offset, long length, int advice);
}
