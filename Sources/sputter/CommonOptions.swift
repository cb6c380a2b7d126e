import ArgumentParser
import Foundation
import Logging

/// Parses `HOST:PORT`, `[v6]:PORT` or `:PORT`.
func parseHostPort(_ text: String, option: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
        throw ValidationError("\(option) '\(text)': expected HOST:PORT, e.g. 127.0.0.1:8080")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "127.0.0.1" : host, port)
}

struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .long, help: "Log format: text, or json (one JSON object per line, with conn, client, attempt and profile where known).")
    var logFormat: String = "text"

    func validate() throws {
        guard logFormat == "text" || logFormat == "json" else {
            throw ValidationError("--log-format '\(logFormat)': expected text or json")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level '\(logLevel)': expected one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func bootstrap() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "sputter")
        logger.logLevel = level
        return logger
    }
}

/// Prints to stdout immediately (scripts wait for these lines).
func say(_ line: String) {
    print(line)
    fflush(stdout)
}

/// Seconds from the command line as nanoseconds; a clear error for negative, NaN or absurd values.
func seconds(_ value: Double, option: String) throws -> UInt64 {
    guard value.isFinite, value >= 0, value <= 365 * 24 * 3600 else {
        throw ValidationError("\(option) \(value): expected a number of seconds from 0 to 31536000")
    }
    return UInt64(value * 1e9)
}
