using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Steer.Protocol.Dtls;

namespace Steer.MicroBench.UdpGso;

/// <summary>
/// <c>Steer.MicroBench udp-gso</c>: what one datagram costs the sender through <see cref="UdpBatch"/> — a plain
/// <c>sendmmsg</c> (one message per datagram) against UDP segmentation offload (one super-datagram per batch) — over
/// 127.0.0.1. A connected UDP socket sends fixed-size datagrams in batches (<c>TryAdd</c> × batch, <c>Flush</c>) as
/// fast as it can; a receiver thread drains the other socket with its own <see cref="UdpBatch"/>, GRO on (Steer's
/// default: the kernel hands each super-datagram over whole) and GRO off (the kernel cuts it up on delivery, inside
/// the sender's system call on loopback). The time is the sender loop's wall time per datagram; the process CPU time
/// (both threads) is printed beside it. Bounded: at most <c>--datagrams</c> per mode and <c>--time-limit</c> seconds
/// in all.
/// </summary>
internal static class UdpGsoBenchmark
{
    private const string Usage = """
        usage: Steer.MicroBench udp-gso [--datagrams N] [--size B] [--batch N] [--time-limit S]
          --datagrams   datagrams sent per mode at most (default 200000)
          --size        bytes per datagram (default 1400)
          --batch       datagrams per flush (default 32, at most 64)
          --time-limit  seconds for all four modes together (default 10), split evenly
        """;

    public static int Run(string[] args)
    {
        int datagrams = 200_000, size = 1400, batch = 32, timeLimit = 10;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "-h" or "--help")
            {
                Console.WriteLine(Usage);
                return 0;
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
            {
                Console.Error.WriteLine($"udp-gso: {args[i]} needs a positive number\n{Usage}");
                return 2;
            }

            switch (args[i++])
            {
                case "--datagrams": datagrams = value; break;
                case "--size": size = Math.Clamp(value, 1, 2048); break;
                case "--batch": batch = Math.Min(value, 64); break;
                case "--time-limit": timeLimit = value; break;
                default:
                    Console.Error.WriteLine($"udp-gso: unknown option {args[i - 1]}\n{Usage}");
                    return 2;
            }
        }

        if (!UdpBatch.IsSupported)
        {
            Console.Error.WriteLine("udp-gso: needs Linux (sendmmsg, UDP_SEGMENT)");
            return 1;
        }

        (string Name, bool Gso, bool Gro)[] modes =
        [
            ("plain sendmmsg → GRO receiver", false, true),
            ("GSO sendmmsg → GRO receiver", true, true),
            ("plain sendmmsg → plain receiver", false, false),
            ("GSO sendmmsg → plain receiver", true, false),
        ];
        TimeSpan perMode = TimeSpan.FromSeconds(timeLimit / (double)modes.Length);
        var ic = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(ic, $"udp-gso: {size}-byte datagrams over 127.0.0.1 in batches of {batch}, at most {datagrams:N0} per mode and {perMode.TotalSeconds:N1} s per mode"));
        Console.WriteLine(string.Create(ic, $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores, load average {LoadAverage()}"));
        Console.WriteLine();
        Console.WriteLine("| mode | sent | µs/datagram (sender wall) | µs/datagram (process CPU) | sendmmsg calls | super-datagrams | received | coalesced messages |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        bool allGood = true;
        foreach ((string name, bool gso, bool gro) in modes)
        {
            Result r = Measure(gso, gro, datagrams, size, batch, perMode);
            allGood &= r.Sent > 0 && r.Gso == gso;
            Console.WriteLine(string.Create(ic,
                $"| {name}{(r.Gso == gso ? string.Empty : " (GSO refused)")} | {r.Sent:N0} | {r.WallMicros:N2} | {r.CpuMicros:N2} | {r.Syscalls:N0} | {r.SuperDatagrams:N0} | {r.Received:N0} | {r.Coalesced:N0} |"));
        }

        return allGood ? 0 : 1;
    }

    private readonly record struct Result(long Sent, double WallMicros, double CpuMicros, long Syscalls, long SuperDatagrams, long Received, long Coalesced, bool Gso);

    private static Result Measure(bool gso, bool gro, int datagrams, int size, int batchSize, TimeSpan limit)
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.ReceiveBufferSize = 8 * 1024 * 1024;
        sender.SendBufferSize = 8 * 1024 * 1024;
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        sender.Connect(receiver.LocalEndPoint!);
        var options = UdpBatchOptions.Default with { Count = batchSize, Gso = gso, Gro = gro };
        var receive = new UdpBatch(receiver, options, withAddresses: false);
        var send = new UdpBatch(sender, options, withAddresses: false);
        receive.Receive(1); // turns GRO on before anything is sent

        long received = 0;
        bool stop = false;
        long receiverDeadline = Environment.TickCount64 + (long)limit.TotalMilliseconds + 5_000;
        var drain = new Thread(() =>
        {
            while (!Volatile.Read(ref stop) && Environment.TickCount64 < receiverDeadline)
            {
                Interlocked.Add(ref received, receive.Receive(20));
            }
        })
        { IsBackground = true, Name = "udp-gso-receiver" };
        drain.Start();

        byte[] payload = new byte[size];
        Random.Shared.NextBytes(payload);
        void SendBatch()
        {
            for (int i = 0; i < batchSize; i++)
            {
                send.TryAdd(payload, null);
            }

            send.Flush();
        }

        // Warm-up: JIT, socket buffers, and GSO probed by a real send.
        for (int i = 0; i < 2_000 / batchSize; i++)
        {
            SendBatch();
        }

        long syscallsBefore = send.Syscalls;
        long superBefore = send.GsoMessages;
        long sentBefore = send.Datagrams;
        Thread.Sleep(50);
        long receivedBefore = Interlocked.Read(ref received);
        long coalescedBefore = receive.GroMessages;
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        long deadline = start + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        long sent = 0;
        while (sent + batchSize <= datagrams && Stopwatch.GetTimestamp() < deadline)
        {
            SendBatch();
            sent += batchSize;
        }

        long ticks = Stopwatch.GetTimestamp() - start;
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

        // Let the receiver take what is queued (at most 1 s), then stop it.
        long settle = Environment.TickCount64 + 1_000;
        long last = -1;
        while (Environment.TickCount64 < settle && Interlocked.Read(ref received) != last)
        {
            last = Interlocked.Read(ref received);
            Thread.Sleep(50);
        }

        Volatile.Write(ref stop, true);
        drain.Join();
        double perDatagram = sent == 0 ? double.NaN : 1e6 / sent;
        return new Result(
            send.Datagrams - sentBefore,
            ticks * 1e6 / Stopwatch.Frequency / Math.Max(1, sent),
            cpu.TotalSeconds * perDatagram,
            send.Syscalls - syscallsBefore,
            send.GsoMessages - superBefore,
            Interlocked.Read(ref received) - receivedBefore,
            receive.GroMessages - coalescedBefore,
            send.IsGso);
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
        catch (UnauthorizedAccessException)
        {
            return "?";
        }
    }
}
