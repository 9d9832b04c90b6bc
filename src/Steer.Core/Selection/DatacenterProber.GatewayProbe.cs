using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Steer.Configuration;

namespace Steer.Selection;

public sealed partial class DatacenterProber
{
    /// <summary>Probes one gateway in one round: UDP samples, then the TLS fallback when UDP got no answer.</summary>
    private sealed partial class GatewayProbe
    {
        private readonly Round _round;
        private readonly DatacenterProberOptions _options;
        private readonly Lock _lock = new();
        private readonly long[] _sentAt;
        private readonly long[] _rtt;
        private readonly long _timeoutTicks;
        private int _sent;
        private int _answered;
        private volatile bool _finished;
        private bool _refused;
        private bool _cut;
        private string? _udpError;

        public GatewayProbe(Round round, DatacenterProberOptions options, GatewayEndpoint gateway, bool isCurrent)
        {
            _round = round;
            _options = options;
            Gateway = gateway;
            IsCurrent = isCurrent;
            _sentAt = new long[options.SamplesPerGateway];
            _rtt = new long[options.SamplesPerGateway];
            _rtt.AsSpan().Fill(-1);
            _timeoutTicks = (long)(options.SampleTimeout.TotalSeconds * Stopwatch.Frequency);
        }

        public GatewayEndpoint Gateway { get; }

        public bool IsCurrent { get; }

        /// <summary>True once the probe has its result (UDP and, if made, the TLS fallback).</summary>
        public bool IsFinished => _finished;

        /// <summary>True once at least one UDP probe was answered.</summary>
        public bool HasAnswer => Volatile.Read(ref _answered) > 0;

        private int UdpPort => _options.UdpPort?.Invoke(Gateway) ?? Gateway.Port;

        public async Task<GatewayProbeResult> RunAsync()
        {
            GatewayProbeResult result;
            try
            {
                result = await ProbeAsync().ConfigureAwait(false);
            }
            finally
            {
                _finished = true;
            }

            _round.OnProgress();
            return result;
        }

        private async Task<GatewayProbeResult> ProbeAsync()
        {
            CancellationToken cutoff = _round.Cutoff;
            IPAddress address;
            try
            {
                address = await ResolveAsync(cutoff).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cutoff.IsCancellationRequested)
            {
                _round.CallerToken.ThrowIfCancellationRequested();
                return Result(ProbeState.Slow, SlowReason());
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ArgumentException)
            {
                return Result(ProbeState.Unreachable, $"cannot resolve {Gateway.Address}: {(ex is OperationCanceledException ? "timed out" : ex.Message)}");
            }

            bool cut = await ProbeUdpAsync(address, cutoff).ConfigureAwait(false);
            _round.CallerToken.ThrowIfCancellationRequested();

            int answered = Volatile.Read(ref _answered);
            if (answered > 0)
            {
                return _options.VerifyPins ? await VerifyPinAsync(address, cutoff).ConfigureAwait(false) : Result(ProbeState.Ok, UdpAnsweredReason());
            }

            if (cut)
            {
                return Result(ProbeState.Slow, SlowReason());
            }

            (ProbeState udpState, string udpReason) = _refused
                ? (ProbeState.Refused, $"UDP port {UdpPort} refused (ICMP port unreachable)")
                : _udpError is not null
                    ? (ProbeState.Unreachable, $"UDP to port {UdpPort} failed: {_udpError}")
                    : (ProbeState.NoAnswer, $"no answer to {_sent} UDP probes within {Milliseconds(_options.SampleTimeout)} ms");
            if (!_options.TlsFallback)
            {
                return Result(udpState, udpReason);
            }

            TlsOutcome tls;
            try
            {
                tls = await ProbeTlsAsync(address, cutoff).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cutoff.IsCancellationRequested)
            {
                _round.CallerToken.ThrowIfCancellationRequested();
                return Result(udpState, udpReason + "; TLS probe not awaited (early decision)");
            }

            string reason = tls.State == ProbeState.WrongPin ? tls.Reason : $"{udpReason}; {tls.Reason}";
            return Result(tls.State, reason, tls.TcpConnect, tls.Handshake);
        }

        /// <summary>UDP answered; <see cref="DatacenterProberOptions.VerifyPins"/>: check the key with a TLS handshake too.</summary>
        private async Task<GatewayProbeResult> VerifyPinAsync(IPAddress address, CancellationToken cutoff)
        {
            TlsOutcome tls;
            try
            {
                tls = await ProbeTlsAsync(address, cutoff).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cutoff.IsCancellationRequested)
            {
                _round.CallerToken.ThrowIfCancellationRequested();
                return Result(ProbeState.Ok, UdpAnsweredReason() + "; key pin not verified (early decision)");
            }

            return tls.State switch
            {
                ProbeState.TlsOnly => Result(ProbeState.Ok,
                    string.Create(CultureInfo.InvariantCulture, $"{UdpAnsweredReason()}; key pin verified (TLS handshake {tls.Handshake!.Value.TotalMilliseconds:0.0} ms)"),
                    tls.TcpConnect, tls.Handshake),
                ProbeState.WrongPin => Result(ProbeState.WrongPin, tls.Reason, tls.TcpConnect, tls.Handshake),
                _ => Result(tls.State, $"{UdpAnsweredReason()}; {tls.Reason}", tls.TcpConnect, tls.Handshake),
            };
        }

        private async ValueTask<IPAddress> ResolveAsync(CancellationToken cutoff)
        {
            if (IPAddress.TryParse(Gateway.Address, out IPAddress? literal))
            {
                return literal;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cutoff);
            timeout.CancelAfter(_options.SampleTimeout);
            IPAddress[] addresses = await Dns.GetHostAddressesAsync(Gateway.Address, timeout.Token).ConfigureAwait(false);
            return addresses.Length > 0
                ? addresses[0]
                : throw new SocketException((int)SocketError.HostNotFound, $"no address for {Gateway.Address}");
        }

        /// <summary>Sends the samples and collects the answers; returns true when the round's cutoff ended it.</summary>
        private async Task<bool> ProbeUdpAsync(IPAddress address, CancellationToken cutoff)
        {
            using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                _options.ConfigureSocket?.Invoke(socket);
                socket.Connect(new IPEndPoint(address, UdpPort));
            }
            catch (SocketException ex)
            {
                _udpError = DescribeSocketError(ex);
                return false;
            }

            byte[] nonce = RandomNumberGenerator.GetBytes(ProbeMessage.NonceLength);

            // Cancelled by the cutoff, by the receive loop on refused or another error, and, once the last probe is sent,
            // after the sample timeout. Each answer is also checked against its own probe's send time.
            using var receiveCts = CancellationTokenSource.CreateLinkedTokenSource(cutoff);
            Task receive = ReceiveAsync(socket, nonce, receiveCts, cutoff);
            byte[] packet = new byte[ProbeMessage.Length];
            for (int i = 0; i < _sentAt.Length && !receive.IsCompleted; i++)
            {
                if (i > 0)
                {
                    try
                    {
                        await Task.Delay(_options.SampleInterval, receiveCts.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }

                    if (receive.IsCompleted)
                    {
                        break;
                    }
                }

                long now = Stopwatch.GetTimestamp();
                ProbeMessage.WriteRequest(packet, (ulong)i, now, nonce);
                lock (_lock)
                {
                    _sentAt[i] = now;
                    _sent = i + 1;
                }

                try
                {
                    await socket.SendAsync(packet, SocketFlags.None, receiveCts.Token).ConfigureAwait(false);
                }
                catch (SocketException ex)
                {
                    if (ex.SocketErrorCode == SocketError.ConnectionRefused)
                    {
                        _refused = true;
                    }
                    else
                    {
                        _udpError ??= DescribeSocketError(ex);
                    }

                    await receiveCts.CancelAsync().ConfigureAwait(false);
                    break;
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            receiveCts.CancelAfter(_options.SampleTimeout); // the deadline: the last probe's send time + the sample timeout

            await receive.ConfigureAwait(false);
            return _cut;
        }

        private async Task ReceiveAsync(Socket socket, byte[] nonce, CancellationTokenSource receiveCts, CancellationToken cutoff)
        {
            byte[] buffer = new byte[ProbeMessage.MaxLength * 2];
            while (true)
            {
                int length;
                try
                {
                    length = await socket.ReceiveAsync(buffer, SocketFlags.None, receiveCts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _cut = cutoff.IsCancellationRequested && !_refused && _udpError is null;
                    return;
                }
                catch (SocketException ex)
                {
                    if (ex.SocketErrorCode == SocketError.ConnectionRefused)
                    {
                        _refused = true;
                    }
                    else
                    {
                        _udpError ??= DescribeSocketError(ex);
                    }

                    await receiveCts.CancelAsync().ConfigureAwait(false);
                    return;
                }

                long now = Stopwatch.GetTimestamp();
                if (!ProbeMessage.TryReadAnswer(buffer.AsSpan(0, length), nonce, out ulong sequence, out long sentAt))
                {
                    continue; // not ours: a stray or spoofed datagram
                }

                int answered = 0;
                lock (_lock)
                {
                    if (sequence < (ulong)_sent && _rtt[(int)sequence] < 0 && _sentAt[(int)sequence] == sentAt && now - sentAt <= _timeoutTicks)
                    {
                        _rtt[(int)sequence] = now - sentAt;
                        answered = ++_answered;
                    }
                }

                if (answered == 1)
                {
                    _round.OnProgress();
                }

                if (answered == _sentAt.Length)
                {
                    return;
                }
            }
        }

        private GatewayProbeResult Result(ProbeState state, string reason, TimeSpan? tcpConnect = null, TimeSpan? tlsHandshake = null)
        {
            long now = Stopwatch.GetTimestamp();
            var rtts = new List<TimeSpan>();
            int sent;
            int lost = 0;
            lock (_lock)
            {
                sent = _sent;
                for (int i = 0; i < sent; i++)
                {
                    if (_rtt[i] >= 0)
                    {
                        rtts.Add(Stopwatch.GetElapsedTime(0, _rtt[i]));
                    }
                    else if (_refused || state != ProbeState.Slow || now - _sentAt[i] >= _timeoutTicks)
                    {
                        // The probe of this gateway has finished (only a round cut short leaves samples in flight),
                        // so an unanswered sample is lost even if the timer fired a tick before its own deadline.
                        lost++;
                    }
                }
            }

            TimeSpan? min = null;
            TimeSpan? median = null;
            if (state == ProbeState.Ok && rtts.Count > 0)
            {
                TimeSpan[] sorted = [.. rtts];
                Array.Sort(sorted);
                min = sorted[0];
                median = sorted.Length % 2 == 1
                    ? sorted[sorted.Length / 2]
                    : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
            }
            else if (state == ProbeState.TlsOnly)
            {
                min = tlsHandshake;
                median = tlsHandshake;
            }

            return new GatewayProbeResult
            {
                Gateway = Gateway,
                State = state,
                Reason = reason,
                SamplesSent = sent,
                SamplesAnswered = rtts.Count,
                SamplesLost = lost,
                Rtts = rtts,
                MinRtt = min,
                MedianRtt = median,
                TcpConnectTime = tcpConnect,
                TlsHandshakeTime = tlsHandshake,
                CompletedAfter = Stopwatch.GetElapsedTime(_round.Start, now),
            };
        }

        private string UdpAnsweredReason()
        {
            int sent;
            int answered;
            int lost = 0;
            long now = Stopwatch.GetTimestamp();
            lock (_lock)
            {
                sent = _sent;
                answered = _answered;
                for (int i = 0; i < sent; i++)
                {
                    if (_rtt[i] < 0 && now - _sentAt[i] >= _timeoutTicks)
                    {
                        lost++;
                    }
                }
            }

            int notAwaited = _sentAt.Length - answered - lost;
            string reason = $"{answered}/{sent} answers";
            if (lost > 0)
            {
                reason += $", {lost} lost";
            }

            if (notAwaited > 0)
            {
                reason += $", {notAwaited} not awaited (early decision)";
            }

            return reason;
        }

        private string SlowReason()
        {
            TimeSpan? best = _round.BestTime;
            return best is null
                ? "no answer before the early decision"
                : string.Create(CultureInfo.InvariantCulture,
                    $"no answer within {Milliseconds(best.Value * _round.Factor)} ms ({_round.Factor:0.#}× the {Milliseconds(best.Value)} ms the best needed; early decision)");
        }

        private static string Milliseconds(TimeSpan value) => value.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);

        internal static string DescribeSocketError(SocketException ex) => ex.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused",
            SocketError.TimedOut => "timed out",
            SocketError.HostUnreachable => "host unreachable",
            SocketError.NetworkUnreachable => "network unreachable",
            SocketError.ConnectionReset => "connection reset",
            SocketError.AccessDenied => "access denied (firewall)",
            _ => ex.Message,
        };
    }
}
