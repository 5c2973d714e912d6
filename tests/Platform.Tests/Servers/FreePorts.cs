using System.Net;
using System.Net.Sockets;

namespace Platform.Tests.Servers;

/// <summary>
/// Free TCP ports on 127.0.0.1, as the kernel hands them out for a listener on port 0. All of one call are held at once,
/// so they differ from each other; they are released before the caller binds them, so another process may take one in
/// between (rare; the server then fails to start and says so).
/// </summary>
internal static class FreePorts
{
    public static int One() => Take(1)[0];

    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listeners.Add(listener);
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
