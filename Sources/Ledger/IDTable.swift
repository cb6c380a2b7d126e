/// The events with an id that a client was sent, across its attempts: what the ledger must remember
/// for as long as the run lasts (a replay after the 100,000th event still has to be recognised), so it is
/// kept small. 24 bytes an event, and no allocation per event, for the common case of ids that are
/// consecutive integers, written plainly (`1`, `2`, `3`…) or zero-padded to a fixed width (`0001`,
/// `0002`…): those are held in runs, found by arithmetic, their names never stored. Any other id (`a7`, a
/// UUID, an integer out of sequence once `maxRuns` runs exist) is kept by name in a dictionary.
///
/// Each distinct id has one entry, in the order the upstream first sent it; an id the upstream reused for
/// other content (another digest) gets further versions, kept aside (rare).
///
/// A class: the ledger reaches it through its client on every event, and a struct there would be
/// copied (and its storage retained) on each read.
final class IDTable {
    struct Entry {
        /// Digest of (type, data): `Digest64.event`.
        var digest: UInt64
        /// Times the upstream sent it (a replay after a reconnect counts again).
        var sent: UInt32
        /// Times a spec-exact client dispatched it intact, over all attempts.
        var received: UInt32
        /// The client's connections (1-based positions in `ClientLedger.connections`) that first and
        /// last dispatched it; 0 while none did.
        var firstConnection: UInt32
        var lastConnection: UInt32

        init(digest: UInt64) {
            self.digest = digest
            sent = 1
            received = 0
            firstConnection = 0
            lastConnection = 0
        }
    }

    /// Ids `base ..< base + count` are the entries `start ..< start + count`, written with exactly
    /// `width` digits (zero-padded), or plainly when `width` is 0.
    private struct Run {
        var base: UInt64
        var start: Int
        var count: Int
        var width: Int

        func holds(_ n: Numeral) -> Bool {
            n.width == width && n.value >= base && n.value - base < UInt64(count)
        }
    }

    /// An id made only of ASCII digits that fits in UInt64: its value, and its width when it has
    /// leading zeros (`007`: 7, width 3), else 0 (`7`, `0`).
    struct Numeral: Equatable {
        var value: UInt64
        var width: Int
    }

    /// More runs than this (ids that keep jumping) and new integer ids are kept by name.
    static let maxRuns = 64

    /// First versions of every id, in first-sent order.
    private(set) var entries: [Entry] = []
    private var runs: [Run] = []
    /// Entries of ids not in a run, by name, and the names back.
    private var named: [String: Int] = [:]
    private var names: [Int: String] = [:]
    /// Versions after the first, by the index of the first.
    private var more: [Int: [Entry]] = [:]

    /// Every version, sent at least once.
    private(set) var versions = 0
    /// Versions dispatched intact at least once, and at least twice.
    private(set) var receivedVersions = 0
    private(set) var duplicatedVersions = 0

    var isEmpty: Bool { entries.isEmpty }

    /// Where an entry lives: `version` 0 is the entry itself, `k` the k-th of `more`.
    struct Slot {
        var index: Int
        var version: Int
    }

    /// The upstream sent (id, digest): counts it as sent once more.
    func sent(id: String, digest: UInt64) {
        let numeral = Self.numeral(id)
        if let index = find(id, numeral) {
            if entries[index].digest == digest {
                entries[index].sent &+= 1
            } else if let k = more[index]?.firstIndex(where: { $0.digest == digest }) {
                more[index]![k].sent &+= 1
            } else {
                more[index, default: []].append(Entry(digest: digest))
                versions += 1
            }
            return
        }
        let index = entries.count
        entries.append(Entry(digest: digest))
        versions += 1
        if let n = numeral {
            if let last = runs.last, n.width == last.width, n.value == last.base &+ UInt64(last.count),
               last.start + last.count == index {
                runs[runs.count - 1].count += 1
                return
            }
            if runs.count < Self.maxRuns {
                runs.append(Run(base: n.value, start: index, count: 1, width: n.width))
                return
            }
        }
        named[id] = index
        names[index] = id
    }

    /// The version of `id` with `digest`, if the upstream sent it.
    func slot(id: String, digest: UInt64) -> Slot? {
        guard let index = find(id, runs.isEmpty ? nil : Self.numeral(id)) else { return nil }
        if entries[index].digest == digest { return Slot(index: index, version: 0) }
        guard let k = more[index]?.firstIndex(where: { $0.digest == digest }) else { return nil }
        return Slot(index: index, version: k + 1)
    }

    subscript(slot: Slot) -> Entry {
        slot.version == 0 ? entries[slot.index] : more[slot.index]![slot.version - 1]
    }

    /// Counts one intact dispatch of the entry at `slot` by the client's connection `connection` (1-based).
    func received(_ slot: Slot, connection: UInt32) {
        func update(_ e: inout Entry) {
            e.received &+= 1
            if e.received == 1 { receivedVersions += 1; e.firstConnection = connection }
            if e.received == 2 { duplicatedVersions += 1 }
            e.lastConnection = connection
        }
        if slot.version == 0 {
            update(&entries[slot.index])
        } else {
            update(&more[slot.index]![slot.version - 1])
        }
    }

    /// The id of the entry at `index`.
    func name(_ index: Int) -> String {
        if let s = names[index] { return s }
        let run = runs[runIndex(containingEntry: index)]
        let digits = String(run.base &+ UInt64(index - run.start))
        return digits.utf8.count >= run.width ? digits : String(repeating: "0", count: run.width - digits.utf8.count) + digits
    }

    /// Every version, the versions of one id together, ids in first-sent order; `body` returns false to stop.
    func forEachVersion(_ body: (_ index: Int, _ entry: Entry) -> Bool) {
        for i in entries.indices {
            if !body(i, entries[i]) { return }
            for e in more[i] ?? [] where !body(i, e) { return }
        }
    }

    private func find(_ id: String, _ numeral: Numeral?) -> Int? {
        if let n = numeral {
            for run in runs.reversed() where run.holds(n) {
                return run.start + Int(n.value - run.base)
            }
        }
        return named.isEmpty ? nil : named[id]
    }

    /// Runs are in entry order: a binary search by start.
    private func runIndex(containingEntry index: Int) -> Int {
        var lo = 0
        var hi = runs.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if runs[mid].start <= index { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// The value of an id made only of ASCII digits, with no leading zero (so it prints back the same),
    /// that fits in UInt64; nil for any other id.
    static func plainInteger(_ s: String) -> UInt64? {
        numeral(s).flatMap { $0.width == 0 ? $0.value : nil }
    }

    static func numeral(_ s: String) -> Numeral? {
        var s = s
        return s.withUTF8 { u -> Numeral? in
            guard let first = u.first, u.count <= 20 else { return nil }
            var v: UInt64 = 0
            for b in u {
                let d = b &- 0x30
                guard d <= 9 else { return nil }
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(d))
                guard !o1, !o2 else { return nil }
                v = a
            }
            return Numeral(value: v, width: first == 0x30 && u.count > 1 ? u.count : 0)
        }
    }
}
