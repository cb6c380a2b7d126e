import Glibc
import Ledger

/// `--ledger FILE`: one JSON object per line, written as it happens (buffered), flushed at each
/// connection end and on shutdown, so SIGINT/SIGTERM lose nothing already recorded.
final class LedgerFile {
    private var file: UnsafeMutablePointer<FILE>?
    let path: String

    struct OpenError: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "cannot write the ledger to \(path): \(reason)" }
    }

    init(path: String) throws {
        self.path = path
        guard let f = fopen(path, "w") else { throw OpenError(path: path, reason: String(cString: strerror(errno))) }
        file = f
        setvbuf(f, nil, _IOFBF, 1 << 16)
    }

    func write(_ record: LedgerRecord) {
        guard let file else { return }
        var line = record.jsonLine()
        line.append("\n")
        line.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, file) }
    }

    func flush() {
        if let file { fflush(file) }
    }

    func close() {
        if let f = file {
            fflush(f)
            fclose(f)
            file = nil
        }
    }

    deinit { close() }
}
