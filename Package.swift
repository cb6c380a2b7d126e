// swift-tools-version:6.0
import PackageDescription

// Module map (arrows point down only; the full map, the flow of a stream and the libevent facts: docs/ARCHITECTURE.md):
//   sputter (CLI) -> Proxy -> EventLoop -> CLibevent
//                         -> Session, HTTP1, SSE, Faults, Profiles, Ledger   (pure: no libevent, no sockets)
let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "Sputter",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sputter", targets: ["sputter"]),
        .library(name: "SputterTesting", targets: ["SputterTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibevent",
            pkgConfig: "libevent libevent_pthreads libevent_openssl openssl",
            providers: [.apt(["libevent-dev", "libssl-dev"])]
        ),
        .target(name: "EventLoop", dependencies: ["CLibevent"], swiftSettings: v5),
        .target(name: "HTTP1"),
        .target(name: "SSE"),
        .target(name: "Faults", dependencies: ["SSE"]),
        .target(name: "Profiles", dependencies: ["Faults", .product(name: "Yams", package: "Yams")]),
        // The HTML report's page, style and script are compiled into the binary (`PackageResources`), so
        // `sputter ledger --html` needs no files beside it wherever it runs.
        .target(name: "Ledger", dependencies: ["SSE", "Faults"],
                resources: [.embedInCode("Report/report.html"), .embedInCode("Report/report.css"), .embedInCode("Report/report.js")]),
        // The session machine: each client connection's decisions, pure (no libevent, no clock).
        .target(name: "Session", dependencies: ["HTTP1", "Faults", "Ledger"]),
        .target(name: "MiniServer", dependencies: ["EventLoop", "HTTP1"], swiftSettings: v5),
        .target(name: "DemoOrigin", dependencies: ["EventLoop", "HTTP1", "MiniServer", .product(name: "Logging", package: "swift-log")], swiftSettings: v5),
        .target(
            name: "Proxy",
            dependencies: [
                "EventLoop", "HTTP1", "SSE", "Faults", "Profiles", "Ledger", "Session", "MiniServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: v5
        ),
        .target(name: "SputterTesting", dependencies: ["Proxy", "Session", "DemoOrigin", "EventLoop", "Ledger", "Profiles", "Faults", .product(name: "Logging", package: "swift-log")], swiftSettings: v5),
        .executableTarget(
            name: "sputter",
            dependencies: [
                "Proxy", "DemoOrigin", "EventLoop",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5
        ),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"]),
        .testTarget(name: "SSETests", dependencies: ["SSE"]),
        .testTarget(name: "SessionTests", dependencies: ["Session", "HTTP1", "Faults", "Ledger", "SSE"]),
        .testTarget(name: "FaultsTests", dependencies: ["Faults", "SSE"]),
        .testTarget(name: "ProfilesTests", dependencies: ["Profiles", "Faults"]),
        .testTarget(name: "CLITests", dependencies: ["sputter"]),
        .testTarget(name: "SputterTestingTests", dependencies: ["SputterTesting", "Faults"], swiftSettings: v5),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "SSE", "Faults"]),
        .testTarget(name: "ProxyTests", dependencies: ["Proxy", "Session", "SputterTesting", "DemoOrigin", "EventLoop", "HTTP1", "SSE", "Faults", "Profiles", .product(name: "Logging", package: "swift-log")], swiftSettings: v5),
    ]
)

package.targets.append(.executableTarget(name: "sse-bench", dependencies: ["SSE"], path: "Benchmarks/SSEBench"))

// The end-to-end benchmark (issue 7): origin, load client and harness on the project's own EventLoop;
// Sputter and nginx run as child processes. `scripts/bench` builds it in release mode and runs it.
package.dependencies.append(.package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"))
package.targets.append(.executableTarget(
    name: "sputter-bench",
    dependencies: ["EventLoop", "HTTP1", "SSE", "Faults", "MiniServer", .product(name: "Histogram", package: "hdrhistogram-swift")],
    path: "Benchmarks/ProxyBench",
    swiftSettings: v5))
