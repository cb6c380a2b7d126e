import Prometheus

/// What `/metrics` on the control listener reports, in Prometheus text format.
/// Counters are atomics (swift-prometheus); labelled ones are looked up once per label value. One per
/// loop (its lookup caches are loop-confined), all on the registry the loops share.
final class ProxyMetrics {
    let registry: PrometheusCollectorRegistry
    private var connectionsTotal: [String: Counter] = [:]
    private var connectionsOpen: [String: Gauge] = [:]
    private var faults: [String: Counter] = [:]
    private var upstreamErrors: [String: Counter] = [:]
    let events: Counter
    let bytesToClients: Counter
    let ledgerIDs: Gauge
    let ledgerIDTableBytes: Gauge

    static let ledgerRecordsDescriptor = MetricNameDescriptor(namespace: "sputter", metricName: "ledger_records", unitName: "total",
                                                              helpText: "Ledger records written")

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        events = registry.makeCounter(descriptor: .init(namespace: "sputter", metricName: "events_relayed", unitName: "total",
                                                        helpText: "Upstream SSE events (frames with data) that passed through"))
        bytesToClients = registry.makeCounter(descriptor: .init(namespace: "sputter", metricName: "response_body", unitName: "bytes_total",
                                                                helpText: "Response body bytes written to clients"))
        ledgerIDs = registry.makeGauge(descriptor: .init(namespace: "sputter", metricName: "ledger_ids", unitName: "",
                                                         helpText: "Distinct event ids the ledger remembers, over all clients (set when scraped)"))
        ledgerIDTableBytes = registry.makeGauge(descriptor: .init(namespace: "sputter", metricName: "ledger_id_table", unitName: "bytes",
                                                                  helpText: "Bytes of the ledger's id tables: digests, spans, runs (set when scraped)"))
    }

    /// Sets the ledger gauges before a scrape.
    func ledgerMemory(ids: Int, bytes: Int) {
        ledgerIDs.set(Int64(ids))
        ledgerIDTableBytes.set(Int64(bytes))
    }

    /// An exchange began under `profile`.
    func exchangeStarted(profile: String) {
        counter(&connectionsTotal, "connections", "total", "Exchanges relayed or answered, by profile", ("profile", profile)).increment()
        gauge(profile).increment()
    }

    func exchangeEnded(profile: String) { gauge(profile).decrement() }

    func faultFired(_ fault: String) {
        counter(&faults, "faults", "total", "Fault decisions taken, by fault", ("fault", fault)).increment()
    }

    func upstreamError(_ kind: String) {
        counter(&upstreamErrors, "upstream_errors", "total", "Upstream failures answered or cut short, by kind", ("kind", kind)).increment()
    }

    func text() -> [UInt8] { registry.emitToBuffer() }

    private func gauge(_ profile: String) -> Gauge {
        if let g = connectionsOpen[profile] { return g }
        let g = registry.makeGauge(descriptor: .init(namespace: "sputter", metricName: "connections_open", unitName: "",
                                                     helpText: "Exchanges in progress, by profile"), labels: [("profile", profile)])
        connectionsOpen[profile] = g
        return g
    }

    private func counter(_ cache: inout [String: Counter], _ name: String, _ unit: String, _ help: String,
                         _ label: (String, String)) -> Counter {
        if let c = cache[label.1] { return c }
        let c = registry.makeCounter(descriptor: .init(namespace: "sputter", metricName: name, unitName: unit, helpText: help),
                                     labels: [label])
        cache[label.1] = c
        return c
    }
}
