using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Steer.Bench.Probes;

/// <summary>
/// Runs code on a dedicated thread that has entered a lab's network namespace (setns(2) changes only the calling
/// thread). Sockets belong to the namespace they were created in, so sockets made there talk from inside the lab
/// without starting a process per connection.
/// </summary>
internal static class NetworkNamespace
{
    private const string NetnsDirectory = "/run/netns";

    /// <summary>Runs <paramref name="body"/> on a new thread inside <paramref name="networkNamespace"/>.</summary>
    public static Task<T> RunAsync<T>(string networkNamespace, Func<T> body)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Enter(networkNamespace);
                completion.TrySetResult(body());
            }
            catch (Exception ex)
            {
                completion.TrySetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = $"netns {networkNamespace}",
        };
        thread.Start();
        return completion.Task;
    }

    private static void Enter(string networkNamespace)
    {
        using SafeFileHandle handle = File.OpenHandle(Path.Combine(NetnsDirectory, networkNamespace));
        if (Interop.Libc.Setns(handle, Interop.Libc.CLONE_NEWNET) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new BenchException($"setns({networkNamespace}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }
}
