/// The events with an id that a client was sent, across its attempts: what the ledger must remember
/// for as long as the run lasts (a replay after the 100,000th event still has to be recognised), so it is
/// kept small: **8 bytes an event** (its digest), and no allocation per event, for the common case of ids
/// that are consecutive integers, written plainly (`1`, `2`, `3`…) or zero-padded to a fixed width
/// (`0001`, `0002`…), when consecutive events share their counts (all received once by one connection,
/// or all not yet received): those ids are held in runs, found by arithmetic, their names never stored.
///
/// Memory, in full: 8 bytes per distinct id (the digests, in chunks of `chunkSize`, so the table never
/// copies itself to grow); 24 bytes per *span*, a stretch of consecutive entries with the same counts
/// (sent, received, first and last receiving connection): a stream received intact is one span, each
/// fault that changes an event's fate (a drop, a duplicate) adds at most two, so the worst case (every
/// other event dropped) is 8 + 24 bytes per event; 24 bytes per run of integer ids (at most `maxRuns`);
/// and any other id (`a7`, a UUID, an integer out of sequence once `maxRuns` runs exist) is kept by name
/// in a dictionary (about 100 bytes plus the name). Nothing is capped: the ledger's job is to recognise
/// any replay for the whole run (`Ledger.reset` frees it all).
///
/// Each distinct id has one entry, in the order the upstream first sent it; an id the upstream reused for
/// other content (another digest) gets further versions, kept aside (rare).
///
/// A class: the ledger reaches it through its client on every event, and a struct there would be
/// copied (and its storage retained) on each read. Its storage is `@exclusivity(unchecked)`: the table is
/// used on one thread (the ledger's lock) and no method lends a property while calling out, and the
/// run-time checks were a tenth of the instructions per event (`scripts/bench-instructions`).
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

        init(digest: UInt64, counts: Counts) {
            self.digest = digest
            sent = counts.sent
            received = counts.received
            firstConnection = counts.firstConnection
            lastConnection = counts.lastConnection
        }

        var counts: Counts {
            Counts(sent: sent, received: received, firstConnection: firstConnection, lastConnection: lastConnection)
        }
    }

    /// An entry's counts: what the spans share.
    struct Counts: Equatable {
        var sent: UInt32
        var received: UInt32
        var firstConnection: UInt32
        var lastConnection: UInt32

        static let fresh = Counts(sent: 1, received: 0, firstConnection: 0, lastConnection: 0)
    }

    /// Entries `start ..< next span's start` (or the end) have `counts`.
    struct Span {
        var start: Int
        var counts: Counts
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
    /// Digests per chunk (512 KiB). The first chunk grows by doubling up to this size (a client with a
    /// few events costs a few bytes); later chunks are allocated whole, and only the pages written count.
    static let chunkSize = 1 << 16

    /// The digests of the first versions of every id, in first-sent order.
    @exclusivity(unchecked) private var chunks: [UnsafeMutablePointer<UInt64>] = []
    /// Capacity of the first chunk (`chunkSize` once there are two).
    @exclusivity(unchecked) private var firstChunkCapacity = 0
    /// Entries (distinct ids).
    @exclusivity(unchecked) private(set) var count = 0
    /// The counts of the entries: sorted by start, the first starting at 0, neighbours differ.
    @exclusivity(unchecked) private(set) var spans: [Span] = []
    @exclusivity(unchecked) private var runs: [Run] = []
    /// Entries of ids not in a run, by name, and the names back.
    @exclusivity(unchecked) private var named: [String: Int] = [:]
    @exclusivity(unchecked) private var names: [Int: String] = [:]
    /// Versions after the first, by the index of the first.
    @exclusivity(unchecked) private var more: [Int: [Entry]] = [:]

    /// Every version, sent at least once.
    @exclusivity(unchecked) private(set) var versions = 0
    /// Versions dispatched intact at least once, and at least twice.
    @exclusivity(unchecked) private(set) var receivedVersions = 0
    @exclusivity(unchecked) private(set) var duplicatedVersions = 0

    var isEmpty: Bool { count == 0 }

    deinit {
        for chunk in chunks { chunk.deallocate() }
    }

    /// Bytes the table holds for its entries (digests, spans, runs); ids kept by name and versions after
    /// the first are not counted (their cost is the dictionaries').
    var entryBytes: Int {
        count * MemoryLayout<UInt64>.stride + spans.count * MemoryLayout<Span>.stride + runs.count * MemoryLayout<Run>.stride
    }

    /// The first version of the entry at `index` (`0 ..< count`).
    func entry(_ index: Int) -> Entry {
        Entry(digest: digest(index), counts: spans[spanIndex(index)].counts)
    }

    /// Where an entry lives: `version` 0 is the entry itself, `k` the k-th of `more`.
    struct Slot {
        var index: Int
        var version: Int
    }

    @inline(__always)
    private func digest(_ index: Int) -> UInt64 {
        chunks[index / Self.chunkSize][index % Self.chunkSize]
    }

    private func appendDigest(_ d: UInt64) {
        let offset = count % Self.chunkSize
        if offset == 0 && count > 0 || chunks.isEmpty {
            // A new chunk: the first starts small, later ones are whole.
            let capacity = chunks.isEmpty ? 16 : Self.chunkSize
            chunks.append(.allocate(capacity: capacity))
            if chunks.count == 1 { firstChunkCapacity = capacity }
        } else if chunks.count == 1 && offset == firstChunkCapacity {
            let capacity = min(firstChunkCapacity * 2, Self.chunkSize)
            let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
            grown.moveInitialize(from: chunks[0], count: offset)
            chunks[0].deallocate()
            chunks[0] = grown
            firstChunkCapacity = capacity
        }
        chunks[count / Self.chunkSize][offset] = d
        count += 1
        if spans.last?.counts != Counts.fresh { spans.append(Span(start: count - 1, counts: .fresh)) }
    }

    /// The span holding entry `index`: the last two first (the ledger's updates come near the end).
    @inline(__always)
    private func spanIndex(_ index: Int) -> Int {
        let n = spans.count
        if spans[n - 1].start <= index { return n - 1 }
        if n >= 2 && spans[n - 2].start <= index { return n - 2 }
        var lo = 0
        var hi = n - 3
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if spans[mid].start <= index { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Gives entry `index` the counts `new`, splitting and merging spans so that neighbours differ.
    private func setCounts(_ index: Int, _ new: Counts) {
        let s = spanIndex(index)
        let old = spans[s].counts
        guard old != new else { return }
        let first = spans[s].start == index
        let last = (s + 1 < spans.count ? spans[s + 1].start : count) == index + 1
        let previousMatches = s > 0 && spans[s - 1].counts == new
        let nextMatches = s + 1 < spans.count && spans[s + 1].counts == new
        switch (first, last) {
        case (true, true):
            // The span is this entry alone.
            if previousMatches && nextMatches {
                spans.removeSubrange(s...(s + 1))
            } else if previousMatches {
                spans.remove(at: s)
            } else if nextMatches {
                spans.remove(at: s + 1)
                spans[s].counts = new
            } else {
                spans[s].counts = new
            }
        case (true, false):
            spans[s].start = index + 1
            if !previousMatches { spans.insert(Span(start: index, counts: new), at: s) }
        case (false, true):
            if nextMatches {
                spans[s + 1].start = index
            } else {
                spans.insert(Span(start: index, counts: new), at: s + 1)
            }
        case (false, false):
            spans.insert(contentsOf: [Span(start: index, counts: new), Span(start: index + 1, counts: old)], at: s + 1)
        }
    }

    /// The upstream sent (id, digest): counts it as sent once more. Returns the version's slot, the one
    /// `slot(id:digest:)` finds for (id, digest) from now on (slots never move).
    @discardableResult
    func sent(id: String, digest: UInt64) -> Slot {
        let numeral = Self.numeral(id)
        if let index = find(id, numeral) {
            if self.digest(index) == digest {
                var c = spans[spanIndex(index)].counts
                c.sent &+= 1
                setCounts(index, c)
                return Slot(index: index, version: 0)
            } else if let k = more[index]?.firstIndex(where: { $0.digest == digest }) {
                more[index]![k].sent &+= 1
                return Slot(index: index, version: k + 1)
            } else {
                more[index, default: []].append(Entry(digest: digest))
                versions += 1
                return Slot(index: index, version: more[index]!.count)
            }
        }
        let index = count
        appendDigest(digest)
        versions += 1
        let slot = Slot(index: index, version: 0)
        if let n = numeral {
            if let last = runs.last, n.width == last.width, n.value == last.base &+ UInt64(last.count),
               last.start + last.count == index {
                runs[runs.count - 1].count += 1
                return slot
            }
            if runs.count < Self.maxRuns {
                runs.append(Run(base: n.value, start: index, count: 1, width: n.width))
                return slot
            }
        }
        named[id] = index
        names[index] = id
        return slot
    }

    /// The version of `id` with `digest`, if the upstream sent it.
    func slot(id: String, digest: UInt64) -> Slot? {
        guard let index = find(id, runs.isEmpty ? nil : Self.numeral(id)) else { return nil }
        if self.digest(index) == digest { return Slot(index: index, version: 0) }
        guard let k = more[index]?.firstIndex(where: { $0.digest == digest }) else { return nil }
        return Slot(index: index, version: k + 1)
    }

    subscript(slot: Slot) -> Entry {
        slot.version == 0 ? entry(slot.index) : more[slot.index]![slot.version - 1]
    }

    /// Counts one intact dispatch of the entry at `slot` by the client's connection `connection` (1-based).
    func received(_ slot: Slot, connection: UInt32) {
        modify(slot) { e in
            e.received &+= 1
            if e.received == 1 { receivedVersions += 1; e.firstConnection = connection }
            if e.received == 2 { duplicatedVersions += 1 }
            e.lastConnection = connection
        }
    }

    /// Changes the counts of the entry at `slot`.
    @inline(__always)
    private func modify(_ slot: Slot, _ update: (inout Counts) -> Void) {
        if slot.version == 0 {
            var c = spans[spanIndex(slot.index)].counts
            update(&c)
            setCounts(slot.index, c)
        } else {
            var c = more[slot.index]![slot.version - 1].counts
            update(&c)
            more[slot.index]![slot.version - 1] = Entry(digest: more[slot.index]![slot.version - 1].digest, counts: c)
        }
    }

    /// Takes back one intact dispatch counted by `received` (a reset's uncertain tail the client did not get).
    func unreceive(_ slot: Slot) {
        modify(slot) { e in
            guard e.received > 0 else { return }
            if e.received == 2 { duplicatedVersions -= 1 }
            if e.received == 1 { receivedVersions -= 1 }
            e.received -= 1
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
        var s = 0
        for i in 0..<count {
            if s + 1 < spans.count && spans[s + 1].start == i { s += 1 }
            if !body(i, Entry(digest: digest(i), counts: spans[s].counts)) { return }
            if !more.isEmpty, let versions = more[i] {
                for e in versions where !body(i, e) { return }
            }
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
            if u.count < 20 {
                // Nineteen digits cannot overflow: no checks on the common path.
                for b in u {
                    let d = b &- 0x30
                    guard d <= 9 else { return nil }
                    v = v &* 10 &+ UInt64(d)
                }
            } else {
                for b in u {
                    let d = b &- 0x30
                    guard d <= 9 else { return nil }
                    let (m, o1) = v.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(UInt64(d))
                    guard !o1, !o2 else { return nil }
                    v = a
                }
            }
            return Numeral(value: v, width: first == 0x30 && u.count > 1 ? u.count : 0)
        }
    }
}
