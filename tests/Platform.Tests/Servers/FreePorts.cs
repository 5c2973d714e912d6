using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Platform.Tests.Servers;

/// <summary>
/// Free TCP ports on 127.0.0.1 for the servers the tests start, taken <em>below</em> the kernel's ephemeral range. A port
/// from the ephemeral range (what a listener on port 0 gets) is released before the server binds it, and in between the
/// kernel may hand it to any outgoing connection as its local port: a cluster node connecting to ZooKeeper took the port
/// another node was about to listen on, and the cluster failed to start ("Address already in use"). Below the range only a
/// process that binds that very port can take it. Each port is checked free by binding it, and none is handed out twice in
/// one test run, so parallel test classes never get the same one.
/// </summary>
internal static class FreePorts
{
    private const int Lowest = 20_000;

    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();
    private static readonly int EphemeralLow = ReadEphemeralLow();

    public static int One() => Take(1)[0];

    public static int[] Take(int count)
    {
        var ports = new int[count];
        lock (Gate)
        {
            for (var i = 0; i < count; i++)
            {
                ports[i] = NextFree();
            }
        }

        return ports;
    }

    private static int NextFree()
    {
        for (var attempt = 0; attempt < 1_000; attempt++)
        {
            var port = Random.Shared.Next(Lowest, EphemeralLow);
            if (!HandedOut.Contains(port) && CanBind(port))
            {
                HandedOut.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException($"no free port found on 127.0.0.1 between {Lowest} and {EphemeralLow}");
    }

    private static bool CanBind(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>The first port of Linux's ephemeral range (32768 by default), or 32768 where it cannot be read.</summary>
    private static int ReadEphemeralLow()
    {
        const int Default = 32_768;
        try
        {
            var first = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0];
            var low = int.Parse(first, CultureInfo.InvariantCulture);
            return low > Lowest + 1_000 ? low : Default;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return Default;
        }
    }
}
