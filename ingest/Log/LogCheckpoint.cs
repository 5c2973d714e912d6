using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Platform.Ingest.Log;

/// <summary>
/// How far the log has been shipped, in the file <c>checkpoint</c>: magic, version, offset, sequence, checksum. It is
/// replaced atomically (a temporary file, fsynced, renamed over it, and the directory fsynced), so after a crash it
/// holds either the previous position or the new one, never a mixture.
/// </summary>
internal static partial class LogCheckpoint
{
    public const string FileName = "checkpoint";
    private const string TemporaryFileName = "checkpoint.tmp";
    private const int Size = 32;
    private const uint Magic = 0x504B434C; // "LCKP"
    private const uint FormatVersion = 1;

    /// <summary>The shipped position, or null when nothing was ever shipped. A damaged file is an error, not a restart from zero.</summary>
    public static LogPosition? Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != Size
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)) != FormatVersion
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(28)) != LogFormat.Crc32C(bytes.AsSpan(0, 28)))
        {
            throw new LogCorruptException(
                $"the log's checkpoint '{path}' is damaged ({bytes.Length} bytes, bad magic, version or checksum); " +
                "without it the log cannot tell what was shipped. Restore it or remove the log directory deliberately.");
        }

        var offset = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8));
        var sequence = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16));
        if (offset < 0 || sequence < 0)
        {
            throw new LogCorruptException($"the log's checkpoint '{path}' holds a negative position ({offset}#{sequence})");
        }

        return new LogPosition(offset, sequence);
    }

    public static void Write(string directory, LogPosition position)
    {
        Span<byte> bytes = stackalloc byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[4..], FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], position.Offset);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[16..], position.Sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[24..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[28..], LogFormat.Crc32C(bytes[..28]));

        var temporary = Path.Combine(directory, TemporaryFileName);
        using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(handle, bytes, 0);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(temporary, Path.Combine(directory, FileName), overwrite: true);
        FlushDirectory(directory);
    }

    public static void DeleteTemporary(string directory) => File.Delete(Path.Combine(directory, TemporaryFileName));

    /// <summary>
    /// fsync of the directory itself, so that a file created, renamed or deleted in it stays so after a power loss.
    /// .NET cannot open a directory as a file, hence the system call. Windows has no such call; NTFS journals names.
    /// </summary>
    public static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var descriptor = Open(directory, 0 /* O_RDONLY */);
        if (descriptor < 0)
        {
            throw new IOException($"cannot open directory '{directory}' to fsync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(descriptor) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
