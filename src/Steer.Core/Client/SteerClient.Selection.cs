using Microsoft.Extensions.Logging;
using Steer.Configuration;
using Steer.Selection;

namespace Steer;

/// <summary>
/// Which datacenter: latency probes before connecting (docs/selection.md), hysteresis while connected (periodic
/// re-probes; a switch only when another is clearly and repeatedly faster), and an ordered failover list when the
/// active one fails, with a circuit breaker per datacenter.
/// </summary>
public sealed partial class SteerClient
{
    private DatacenterProber? _prober;
    private readonly DatacenterSelector _selector = new(new DatacenterSelectorOptions { Priority = g => g.Priority });
    private readonly GatewayHealthRegistry _health = new();
    private ProbeSchedule? _schedule;
    private string? _currentGateway;
    private string? _failedGateway;
    private string? _preferredGateway;
    private string? _switchReason;
    private string _selectionReason = "only gateway in the tenant configuration";

    private DatacenterProber Prober => _prober ??= new DatacenterProber(
        new DatacenterProberOptions { EarlyDecision = true, ConfigureSocket = _protector.Protect }, logger: _logger);

    /// <summary>The gateways to try now, best first, and why the first one.</summary>
    private async ValueTask<IReadOnlyList<GatewayEndpoint>> PlanConnectAsync(CancellationToken ct)
    {
        IReadOnlyList<GatewayEndpoint> all = _config.Gateways;
        if (_options.Gateway is not null)
        {
            _selectionReason = "chosen by the user (--gateway)";
            return all.Where(g => g.Name == _options.Gateway).ToArray();
        }

        if (all.Count == 1)
        {
            _selectionReason = "only gateway in the tenant configuration";
            return all;
        }

        ProbeRound round = await Prober.ProbeAsync(all, _currentGateway, ct).ConfigureAwait(false);
        IReadOnlyList<GatewayWindowStats> stats = Prober.History.GetStats(all);
        string? keep = _failedGateway is null ? _currentGateway : null;
        SelectionDecision decision = _selector.Select(stats, keep, _health);
        FailoverPlan plan = FailoverPlanner.Plan(stats, _health, _failedGateway, g => g.Priority);
        var order = new List<GatewayEndpoint>();
        foreach (string? name in new[] { _preferredGateway, decision.Chosen?.Name })
        {
            if (name is not null && plan.Gateways.FirstOrDefault(g => g.Name == name) is { } first && !order.Contains(first))
            {
                order.Add(first);
            }
        }

        order.AddRange(plan.Gateways.Where(g => !order.Contains(g)));
        _selectionReason = _preferredGateway is not null && order.Count > 0 && order[0].Name == _preferredGateway
            ? $"switched from {_currentGateway}: {_switchReason}"
            : decision.Reason;
        _preferredGateway = null;
        LogPlan(_logger, round.Elapsed.TotalMilliseconds, string.Join(", ", order.Select(g => g.Name)), _selectionReason, plan.Description);
        return order.Count > 0 ? order : throw new GatewayUnavailableException(
            $"No usable gateway: {string.Join("; ", plan.Excluded.Select(e => $"{e.Gateway.Name}: {e.Reason}"))}");
    }

    /// <summary>
    /// While connected: re-probe on the schedule (top 3 + current every minute, all every 5 minutes) and end the
    /// session when the selector says another datacenter is clearly better; the supervisor then connects there,
    /// keeping the TUN and routes.
    /// </summary>
    private async Task ReprobeWhileConnectedAsync(Session session, CancellationToken ct)
    {
        if (_options.Gateway is not null || _config.Gateways.Count < 2)
        {
            return;
        }

        _schedule ??= new ProbeSchedule(new ProbeScheduleOptions { PartialInterval = _options.ProbeInterval, FullInterval = _options.FullProbeInterval });
        using var watcherStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task watcher = WatchNetworkAsync(_schedule, watcherStop.Token);
        try
        {
            await ReprobeLoopAsync(session, _schedule, ct).ConfigureAwait(false);
        }
        finally
        {
            await watcherStop.CancelAsync().ConfigureAwait(false);
            try
            {
                await watcher.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>
    /// Re-probes everything at once when the machine's own addresses change (another Wi-Fi, a VPN, a cable):
    /// latencies measured on the old network say nothing about the new one. Polled every 2 s, outside the packet path.
    /// </summary>
    private async Task WatchNetworkAsync(ProbeSchedule schedule, CancellationToken ct)
    {
        string? last = null;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        do
        {
            string now = NetworkFingerprint();
            if (last is not null && now != last)
            {
                LogNetworkChanged(_logger);
                Prober.History.Clear();
                _selector.Reset();
                schedule.NetworkChanged();
            }

            last = now;
        }
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
    }

    private string NetworkFingerprint()
    {
        string? tun = _device?.Name;
        return string.Join('|', System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.Name != tun && i.OperationalStatus != System.Net.NetworkInformation.OperationalStatus.Down)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses.Select(a => $"{i.Name}={a.Address}/{a.PrefixLength}"))
            .Order(StringComparer.Ordinal));
    }

    private async Task ReprobeLoopAsync(Session session, ProbeSchedule schedule, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            ProbeRoundPlan next = schedule.GetNextRound(Prober.History.GetStats(_config.Gateways), session.Gateway.Name);
            await schedule.WaitAsync(next, ct).ConfigureAwait(false);
            next = schedule.GetNextRound(Prober.History.GetStats(_config.Gateways), session.Gateway.Name);
            await Prober.ProbeAsync(next.Gateways, session.Gateway.Name, ct).ConfigureAwait(false);
            schedule.RoundCompleted(next);
            SelectionDecision decision = _selector.Select(Prober.History.GetStats(_config.Gateways), session.Gateway.Name, _health);
            if (decision.IsSwitch && decision.Chosen is { } better)
            {
                LogSwitch(_logger, session.Gateway.Name, better.Name, decision.Reason);
                _preferredGateway = better.Name;
                _switchReason = decision.Reason;
                await session.Connection.CloseAsync($"moving to datacenter {better.Name}").ConfigureAwait(false);
                return;
            }

            UpdateStatus(s => s with { GatewayReason = decision.Reason });
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Datacenters probed in {ElapsedMs:0} ms; trying {Order}: {Reason} ({Plan})")]
    private static partial void LogPlan(ILogger logger, double elapsedMs, string order, string reason, string plan);

    [LoggerMessage(Level = LogLevel.Information, Message = "Network changed: re-probing every datacenter")]
    private static partial void LogNetworkChanged(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Switching datacenter {From} -> {To}: {Reason}")]
    private static partial void LogSwitch(ILogger logger, string from, string to, string reason);
}
