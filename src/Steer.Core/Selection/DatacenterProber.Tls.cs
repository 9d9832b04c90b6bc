using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Steer.Security;

namespace Steer.Selection;

public sealed partial class DatacenterProber
{
    private readonly record struct TlsOutcome(ProbeState State, string Reason, TimeSpan? TcpConnect = null, TimeSpan? Handshake = null);

    private sealed partial class GatewayProbe
    {
        /// <summary>The ALPN id of protocol v1 (docs/protocol.md §1).</summary>
        private const string Alpn = "steer/1";

        /// <summary>
        /// TCP connect and a TLS 1.3 handshake checked against the gateway's pins, closed right after: no application
        /// byte is sent. Throws <see cref="OperationCanceledException"/> only when <paramref name="cutoff"/> fires.
        /// </summary>
        private async Task<TlsOutcome> ProbeTlsAsync(IPAddress address, CancellationToken cutoff)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cutoff);
            timeout.CancelAfter(_options.TlsTimeout);
            string seconds = _options.TlsTimeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            SslStream? ssl = null;
            try
            {
                _options.ConfigureSocket?.Invoke(socket);
                long start = Stopwatch.GetTimestamp();
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, Gateway.Port), timeout.Token).ConfigureAwait(false);
                }
                catch (SocketException ex)
                {
                    return new TlsOutcome(ProbeState.Unreachable, $"TCP connect to port {Gateway.Port} failed: {DescribeSocketError(ex)}");
                }
                catch (OperationCanceledException) when (!cutoff.IsCancellationRequested)
                {
                    return new TlsOutcome(ProbeState.Unreachable, $"TCP connect to port {Gateway.Port} timed out after {seconds} s");
                }

                TimeSpan tcp = Stopwatch.GetElapsedTime(start);
                PinValidator pins;
                try
                {
                    pins = new PinValidator(Gateway.Pins);
                }
                catch (ArgumentException ex)
                {
                    return new TlsOutcome(ProbeState.TlsFailed, $"no usable key pin in the configuration: {ex.Message}", tcp);
                }

                ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
                var options = new SslClientAuthenticationOptions
                {
                    TargetHost = IPAddress.TryParse(Gateway.Address, out _) ? string.Empty : Gateway.Address,
                    ApplicationProtocols = [new SslApplicationProtocol(Alpn)],
                    EnabledSslProtocols = SslProtocols.Tls13,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = pins.CreateCallback(),
                };
                long handshakeStart = Stopwatch.GetTimestamp();
                try
                {
                    await ssl.AuthenticateAsClientAsync(options, timeout.Token).ConfigureAwait(false);
                }
                catch (AuthenticationException ex) when (pins.IsMismatch && pins.PresentedPin is not null)
                {
                    return new TlsOutcome(ProbeState.WrongPin, PinMismatchException.ForGateway(Gateway, pins.PresentedPin, ex).Message, tcp);
                }
                catch (OperationCanceledException) when (!cutoff.IsCancellationRequested)
                {
                    return new TlsOutcome(ProbeState.TlsFailed, $"TLS handshake did not complete within {seconds} s", tcp);
                }
                catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException)
                {
                    string detail = ex.InnerException is { } inner && ex is AuthenticationException ? $"{ex.Message} ({inner.Message})" : ex.Message;
                    return new TlsOutcome(ProbeState.TlsFailed, $"TLS handshake failed: {detail}", tcp);
                }

                TimeSpan handshake = Stopwatch.GetElapsedTime(handshakeStart);
                string alpn = ssl.NegotiatedApplicationProtocol.ToString();
                if (alpn != Alpn)
                {
                    return new TlsOutcome(ProbeState.TlsFailed, $"the server did not agree on {Alpn} (got '{alpn}'): not a Steer v1 gateway", tcp, handshake);
                }

                return new TlsOutcome(
                    ProbeState.TlsOnly,
                    string.Create(CultureInfo.InvariantCulture, $"TLS handshake {handshake.TotalMilliseconds:0.0} ms (TCP connect {tcp.TotalMilliseconds:0.0} ms)"),
                    tcp,
                    handshake);
            }
            finally
            {
                if (ssl is not null)
                {
                    await ssl.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    socket.Dispose();
                }
            }
        }
    }
}
