using System.Buffers;
using System.Diagnostics;

namespace Steer.Lab;

/// <summary>
/// The timer of a <see cref="DelayRelay"/>: one thread and one priority queue ordered by due time (then by arrival),
/// instead of a timer or <see cref="Task.Delay(TimeSpan)"/> per packet. Items are released on the scheduler thread;
/// sinks must not block.
/// </summary>
internal sealed class DelayRelayScheduler : IDisposable
{
    private readonly PriorityQueue<Item, (long Due, long Sequence)> _queue = new();
    private readonly object _gate = new();
    private readonly Thread _thread;
    private readonly List<Item> _batch = new(64);
    private long _sequence;
    private bool _stopped;

    public DelayRelayScheduler(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Receives released items. Called on the scheduler thread; must not block.</summary>
    public interface ISink
    {
        /// <summary>The item is due: send it. Owns <paramref name="buffer"/> (rented from <see cref="ArrayPool{T}.Shared"/>) from now on.</summary>
        void Deliver(byte[]? buffer, int length);

        /// <summary>The scheduler stopped before the item was due: release what it holds.</summary>
        void Discard(byte[]? buffer);
    }

    /// <summary>Queues an item until <paramref name="dueTimestamp"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    /// <returns>False when the scheduler has stopped; the caller keeps the buffer.</returns>
    public bool Schedule(long dueTimestamp, ISink sink, byte[]? buffer, int length)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return false;
            }

            bool newHead = !_queue.TryPeek(out _, out (long Due, long Sequence) head) || dueTimestamp < head.Due;
            _queue.Enqueue(new Item(sink, buffer, length), (dueTimestamp, _sequence++));
            if (newHead)
            {
                Monitor.Pulse(_gate);
            }

            return true;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            Monitor.Pulse(_gate);
        }

        _thread.Join();
        while (_queue.TryDequeue(out Item item, out _))
        {
            item.Sink.Discard(item.Buffer);
        }
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    if (_stopped)
                    {
                        return;
                    }

                    if (!_queue.TryPeek(out _, out (long Due, long Sequence) head))
                    {
                        Monitor.Wait(_gate);
                        continue;
                    }

                    long now = Stopwatch.GetTimestamp();
                    if (head.Due <= now)
                    {
                        while (_batch.Count < 64 && _queue.TryPeek(out _, out head) && head.Due <= now)
                        {
                            _batch.Add(_queue.Dequeue());
                        }

                        break;
                    }

                    double milliseconds = (head.Due - now) * 1000.0 / Stopwatch.Frequency;
                    Monitor.Wait(_gate, (int)Math.Min(Math.Ceiling(milliseconds), int.MaxValue));
                }
            }

            foreach (Item item in _batch)
            {
                try
                {
                    item.Sink.Deliver(item.Buffer, item.Length);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // A sink that fails (its socket closed meanwhile) must not stop the timer of every other flow.
                }
            }

            _batch.Clear();
        }
    }

    private readonly record struct Item(ISink Sink, byte[]? Buffer, int Length);
}
