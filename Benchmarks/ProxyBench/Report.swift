import Foundation

/// The table (Markdown) and the verdict on each target (issues 7 and 16).
struct Report {
    let harness: Harness
    let quick: Bool

    func median(_ peer: Peer, _ key: String) -> Double? {
        let values = (harness.runs[peer] ?? []).compactMap { $0[key] }.filter { $0.isFinite }.sorted()
        guard !values.isEmpty else { return nil }
        let m = values.count / 2
        return values.count % 2 == 1 ? values[m] : (values[m - 1] + values[m]) / 2
    }

    /// Added over direct: the peer's median minus direct's median.
    func added(_ peer: Peer, _ key: String) -> Double? {
        guard let v = median(peer, key), let d = median(.direct, key) else { return nil }
        return v - d
    }

    enum Style { case micros, count, mb, cpu, kib, mib, percent, bytes }

    static func format(_ v: Double?, _ style: Style) -> String {
        guard let v, v.isFinite else { return "—" }
        switch style {
        case .micros: return abs(v) >= 100 ? String(format: "%.0f", v) : String(format: "%.1f", v)
        case .count: return Int(v.rounded()).formatted()
        case .mb: return String(format: "%.1f", v)
        case .cpu: return String(format: "%.2f", v)
        case .kib: return String(format: "%.1f", v)
        case .mib: return String(format: "%.1f", v)
        case .percent: return String(format: "%.0f%%", v * 100)
        case .bytes: return String(format: "%.1f", v)
        }
    }

    static func ratio(_ a: Double?, _ b: Double?) -> String {
        // Only between positive figures: an added latency at or below zero is noise around direct's.
        guard let a, let b, a > 0, b > 0, a.isFinite, b.isFinite else { return "—" }
        let r = a / b
        return r >= 10 ? String(format: "%.0f×", r) : String(format: "%.2f×", r)
    }

    struct Row {
        var scenario: String
        var metric: String
        var value: (Peer) -> Double?
        var style: Style
        /// Ratio to direct makes sense (not for figures that are zero for direct by definition).
        var versusDirect = true
    }

    var rows: [Row] {
        var rows: [Row] = []
        let scen = harness.scenarios
        let rate = Int(harness.plan.s1Rate).formatted()
        if scen.contains(1) {
            let s = "1 stream @ \(rate) ev/s"
            for (p, label) in [("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")] {
                rows.append(Row(scenario: s, metric: "latency \(label) (µs)", value: { median($0, "s1.\(p)") }, style: .micros))
            }
            for (p, label) in [("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")] {
                rows.append(Row(scenario: s, metric: "added latency \(label) (µs)", value: { $0 == .direct ? 0 : added($0, "s1.\(p)") },
                                style: .micros, versusDirect: false))
            }
        }
        if scen.contains(2) {
            let s = "1 stream, as fast as possible"
            rows.append(Row(scenario: s, metric: "events/s (\(harness.plan.eventBytes) B events)", value: { median($0, "s2.eps") }, style: .count))
            rows.append(Row(scenario: s, metric: "MB/s", value: { median($0, "s2.mbps") }, style: .mb))
            rows.append(Row(scenario: s, metric: "proxy CPU s per 1M events", value: { median($0, "s2.cpuPerM") }, style: .cpu, versusDirect: false))
            rows.append(Row(scenario: s, metric: "proxy CPU use (of one core)", value: { median($0, "s2.cpuUse") }, style: .percent, versusDirect: false))
            rows.append(Row(scenario: s, metric: "proxy RSS at the end (MiB)", value: { median($0, "s2.rssMiB") }, style: .mib, versusDirect: false))
            rows.append(Row(scenario: s, metric: "proxy RSS growth per event (bytes)", value: { median($0, "s2.rssPerEvent") }, style: .bytes,
                            versusDirect: false))
            rows.append(Row(scenario: s, metric: "ledger id-table growth per event (bytes, its own accounting)", value: { median($0, "s2.ledgerPerEvent") },
                            style: .bytes, versusDirect: false))
        }
        if scen.contains(3) {
            for n in harness.plan.s3Counts {
                let carried = median(.sputter, "s3.\(n).streams") ?? median(.nginx, "s3.\(n).streams")
                let shown = carried.map { Int($0) } ?? n
                let s = "\(shown.formatted()) streams @ \(Self.format(harness.plan.s3Rate, .count)) ev/s each"
                rows.append(Row(scenario: s, metric: "latency p50 (µs)", value: { median($0, "s3.\(n).p50") }, style: .micros))
                rows.append(Row(scenario: s, metric: "latency p99 (µs)", value: { median($0, "s3.\(n).p99") }, style: .micros))
                rows.append(Row(scenario: s, metric: "added latency p99 (µs)", value: { $0 == .direct ? 0 : added($0, "s3.\(n).p99") },
                                style: .micros, versusDirect: false))
                rows.append(Row(scenario: s, metric: "proxy RSS per stream (KiB)", value: { median($0, "s3.\(n).rssPerStream") }, style: .kib, versusDirect: false))
                rows.append(Row(scenario: s, metric: "proxy RSS (MiB)", value: { median($0, "s3.\(n).rssMiB") }, style: .mib, versusDirect: false))
            }
        }
        if scen.contains(4), harness.peers.contains(.delay) {
            let s = "delay fault 100 ms (Sputter, profile `delay: { latency: 100ms }`; engine column), 1 stream @ \(Int(harness.plan.s4Rate).formatted()) ev/s"
            rows.append(Row(scenario: s, metric: "actual − 100 ms, p50 (µs)", value: { $0 == .engine ? median(.delay, "s4.errP50") : nil }, style: .micros, versusDirect: false))
            rows.append(Row(scenario: s, metric: "actual − 100 ms, p99 (µs)", value: { $0 == .engine ? median(.delay, "s4.errP99") : nil }, style: .micros, versusDirect: false))
        }
        return rows
    }

    func table() -> String {
        let hasNginx = harness.peers.contains(.nginx)
        var out = "| scenario | metric | direct | nginx (1 worker) | Sputter passthrough | ×direct | ×nginx "
            + "| Sputter default (`--ledger-level events`) | ×nginx | Sputter engine | ×direct | ×nginx |\n"
        out += "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for row in rows {
            let d = row.value(.direct), n = hasNginx ? row.value(.nginx) : nil
            let s = row.value(.sputter), e = row.value(.engine), v = row.value(.defaults)
            let cells = [
                row.scenario, row.metric,
                Self.format(d, row.style), hasNginx ? Self.format(n, row.style) : "not run",
                Self.format(s, row.style), row.versusDirect ? Self.ratio(s, d) : "—", Self.ratio(s, n),
                Self.format(v, row.style), Self.ratio(v, n),
                Self.format(e, row.style), row.versusDirect ? Self.ratio(e, d) : "—", Self.ratio(e, n),
            ]
            out += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }

    enum Verdict: String { case met = "met", notMet = "NOT met", notRun = "not run" }

    struct Target {
        var text: String
        var verdict: Verdict
        var figure: String
    }

    var targets: [Target] {
        var t: [Target] = []
        func judge(_ ok: Bool?) -> Verdict { ok.map { $0 ? .met : .notMet } ?? .notRun }
        func atMost(_ a: Double?, _ b: Double?, times k: Double = 1) -> Bool? { a.flatMap { a in b.map { a <= k * $0 } } }
        func atLeast(_ a: Double?, _ b: Double?, times k: Double = 1) -> Bool? { a.flatMap { a in b.map { a >= k * $0 } } }
        // The passthrough column's targets are stated for the ledger at summary level.
        let summaryLedger = harness.sputterLedger == "summary"
        let atSummary = summaryLedger ? "" : " (passthrough ran at --ledger-level \(harness.sputterLedger), not summary)"
        func unlessSummary(_ v: Verdict) -> Verdict { summaryLedger ? v : .notRun }

        // Latency at 1,000 events/s (issue 7, kept).
        let p50 = added(.sputter, "s1.p50"), p99 = added(.sputter, "s1.p99")
        let n50 = added(.nginx, "s1.p50"), n99 = added(.nginx, "s1.p99")
        let e50 = added(.engine, "s1.p50"), e99 = added(.engine, "s1.p99")
        let v50 = added(.defaults, "s1.p50"), v99 = added(.defaults, "s1.p99")
        t.append(Target(text: "added latency p50 at 1,000 ev/s ≤ nginx's (passthrough)", verdict: judge(atMost(p50, n50)),
                        figure: "passthrough \(Self.format(p50, .micros)) µs, default \(Self.format(v50, .micros)) µs, "
                            + "engine \(Self.format(e50, .micros)) µs, nginx \(Self.format(n50, .micros)) µs"))
        t.append(Target(text: "added latency p99 at 1,000 ev/s ≤ nginx's (passthrough)", verdict: judge(atMost(p99, n99)),
                        figure: "passthrough \(Self.format(p99, .micros)) µs, engine \(Self.format(e99, .micros)) µs, nginx \(Self.format(n99, .micros)) µs"))
        t.append(Target(text: "added latency p99 at 1,000 ev/s ≤ nginx's (default settings, ledger at events level)",
                        verdict: judge(atMost(v99, n99)),
                        figure: "default \(Self.format(v99, .micros)) µs, nginx \(Self.format(n99, .micros)) µs"))

        // One stream as fast as possible (issue 16).
        let eps = median(.sputter, "s2.eps"), neps = median(.nginx, "s2.eps"), eeps = median(.engine, "s2.eps")
        let veps = median(.defaults, "s2.eps")
        t.append(Target(text: "single-stream events/s, passthrough at summary level ≥ nginx's", verdict: unlessSummary(judge(atLeast(eps, neps))),
                        figure: "\(Self.format(eps, .count)) vs nginx \(Self.format(neps, .count)) events/s (\(Self.ratio(eps, neps)))\(atSummary)"))
        let cpu = median(.sputter, "s2.cpuPerM"), ncpu = median(.nginx, "s2.cpuPerM"), ecpu = median(.engine, "s2.cpuPerM")
        let vcpu = median(.defaults, "s2.cpuPerM")
        t.append(Target(text: "CPU per million events, passthrough at summary level ≤ 3× nginx's", verdict: unlessSummary(judge(atMost(cpu, ncpu, times: 3))),
                        figure: "passthrough \(Self.format(cpu, .cpu)) s (\(Self.ratio(cpu, ncpu))), default \(Self.format(vcpu, .cpu)) s, "
                            + "engine \(Self.format(ecpu, .cpu)) s, nginx \(Self.format(ncpu, .cpu)) s\(atSummary)"))
        t.append(Target(text: "single-stream events/s, default settings (ledger at events level) ≥ 0.7× nginx's",
                        verdict: judge(atLeast(veps, neps, times: 0.7)),
                        figure: "\(Self.format(veps, .count)) vs nginx \(Self.format(neps, .count)) events/s (\(Self.ratio(veps, neps)))"))
        t.append(Target(text: "single-stream events/s, fault engine ≥ 0.5× nginx's", verdict: judge(atLeast(eeps, neps, times: 0.5)),
                        figure: "\(Self.format(eeps, .count)) vs nginx \(Self.format(neps, .count)) events/s (\(Self.ratio(eeps, neps)))"))
        // Judged on the ledger's own accounting (its id tables, from `/metrics`); the whole process's RSS growth is shown
        // beside it (allocator and page granularity add a fraction of a byte).
        let perEvent = median(.sputter, "s2.ledgerPerEvent"), vPerEvent = median(.defaults, "s2.ledgerPerEvent")
        let rssPerEvent = median(.sputter, "s2.rssPerEvent")
        t.append(Target(text: "ledger memory ≤ 8 bytes per event (consecutive integer ids, summary level; the ledger's id tables over the window)",
                        verdict: unlessSummary(judge(perEvent.map { $0 <= 8 })),
                        figure: "passthrough \(Self.format(perEvent, .bytes)) bytes per event, default \(Self.format(vPerEvent, .bytes)) bytes "
                            + "(process RSS growth \(Self.format(rssPerEvent, .bytes)) bytes per event)\(atSummary)"))

        // Many streams (issue 7, kept).
        let big = harness.plan.s3Counts.max() ?? 0
        let rss = big >= 1_000 ? median(.sputter, "s3.\(big).rssPerStream") : nil
        let vrss = big >= 1_000 ? median(.defaults, "s3.\(big).rssPerStream") : nil
        let carried = median(.sputter, "s3.\(big).streams").map { Int($0) } ?? 0
        let nrss = big >= 1_000 ? median(.nginx, "s3.\(big).rssPerStream") : nil
        if big >= 1_000 {
            let enough = carried >= 10_000 ? "" : " (\(carried.formatted()) streams: the most the open-file limit lets both proxies carry)"
            t.append(Target(text: "10,000 concurrent streams with ≤ 16 KiB RSS per stream", verdict: judge(rss.map { $0 <= 16 }),
                            figure: "passthrough \(Self.format(rss, .kib)) KiB per stream\(enough), default \(Self.format(vrss, .kib)) KiB "
                                + "(nginx \(Self.format(nrss, .kib)) KiB)"))
        } else {
            t.append(Target(text: "10,000 concurrent streams with ≤ 16 KiB RSS per stream", verdict: .notRun,
                            figure: "this run opened at most \(big) streams"))
        }
        let err = median(.delay, "s4.errP99"), err50 = median(.delay, "s4.errP50")
        t.append(Target(text: "delay fault error p99 ≤ 1 ms", verdict: judge(err.map { $0 <= 1000 }),
                        figure: "p99 \(Self.format(err, .micros)) µs (p50 \(Self.format(err50, .micros)) µs)"))
        return t
    }

    func render(header: String) -> String {
        var out = header + "\n\n" + table() + "\n"
        for note in harness.notes { out += "- Note: \(note)\n" }
        out += "\nTargets (issues 7 and 16)\(quick ? " — smoke run: figures are too short to judge; shown only to check the report works" : ""):\n\n"
        for target in targets {
            out += "- [\(target.verdict.rawValue)] \(target.text): \(target.figure)\n"
        }
        return out
    }
}
