import Foundation
import Glibc

/// What the load client talks to: the origin itself, or a proxy in front of it.
enum Peer: String, CaseIterable {
    case direct, nginx, sputter, defaults = "default", engine, delay

    var label: String {
        switch self {
        case .direct: return "direct"
        case .nginx: return "nginx"
        case .sputter: return "Sputter passthrough"
        case .defaults: return "Sputter default (ledger events)"
        case .engine: return "Sputter engine"
        case .delay: return "Sputter delay 100ms"
        }
    }

    /// The Sputter profile, for the Sputter peers.
    var profile: String? {
        switch self {
        case .sputter, .defaults: return "passthrough"
        case .engine: return "bench-engine"
        case .delay: return "bench-delay"
        case .direct, .nginx: return nil
        }
    }
}

/// Where the profiles, configs and logs of one harness run live.
struct WorkDir {
    let path: String

    static func make() throws -> WorkDir {
        var template = Array("/tmp/sputter-bench.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ChildError(description: "mkdtemp failed: \(String(cString: strerror(errno)))") }
        let dir = WorkDir(path: String(cString: made))
        try FileManager.default.createDirectory(atPath: dir.profiles, withIntermediateDirectories: true)
        // The engine's price: a stream fault that is armed and sees every frame, but whose selector
        // matches an event type these streams never send, so nothing is dropped.
        try """
        name: bench-engine
        description: A drop fault whose selector matches no event of the benchmark's streams (prices the fault engine).
        faults:
          - drop: { select: { types: [never-sent] } }
        """.write(toFile: dir.profiles + "/bench-engine.yaml", atomically: true, encoding: .utf8)
        try """
        name: bench-delay
        description: Every frame 100 ms late (the benchmark measures the error of the actual delay).
        faults:
          - delay: { latency: 100ms }
        """.write(toFile: dir.profiles + "/bench-delay.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    var profiles: String { path + "/profiles" }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A running proxy (Sputter or nginx) and the processes whose CPU and memory are its cost.
struct RunningProxy {
    let port: Int
    let child: Child
    /// nginx: the master and its worker; Sputter: itself.
    let pids: () -> [Int32]
    /// Sputter's control API (loopback), for `/metrics`; nil for nginx.
    var controlPort: Int? = nil

    /// Sputter's ledger: distinct ids remembered and the bytes of their id tables (`/metrics`), or nil.
    func ledgerMemory() -> (ids: Double, bytes: Double)? {
        guard let controlPort, let text = httpGet(port: controlPort, path: "/metrics") else { return nil }
        var ids: Double?, bytes: Double?
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            if parts[0] == "sputter_ledger_ids" { ids = value }
            if parts[0] == "sputter_ledger_id_table_bytes" { bytes = value }
        }
        guard let ids, let bytes else { return nil }
        return (ids, bytes)
    }

    func sample() -> ProcSample? {
        var total = ProcSample(cpuSeconds: 0, rssKiB: 0)
        var any = false
        for pid in pids() {
            guard let s = Proc.sample(pid) else { continue }
            total.cpuSeconds += s.cpuSeconds
            total.rssKiB += s.rssKiB
            any = true
        }
        return any ? total : nil
    }
}

enum Launch {
    static func origin(executable: String, work: WorkDir) throws -> (Child, Int) {
        let child = try Child(name: "origin", path: executable, arguments: ["origin"], stderrPath: work.path + "/origin.err")
        let port = try child.waitForLine { line -> Int? in
            line.hasPrefix("port ") ? Int(line.dropFirst(5)) : nil
        }
        return (child, port)
    }

    /// `ledger`: the `--ledger-level` (a file is written unless it is `off`).
    static func sputter(path: String, profile: String, originPort: Int, work: WorkDir, threads: Int?, ledger: String) throws -> RunningProxy {
        var args = ["serve", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(originPort)",
                    "--profiles", work.profiles, "--profile", profile, "--seed", "1",
                    "--control", "127.0.0.1:0", "--log-level", "warning"]
        if let threads { args += ["--threads", String(threads)] }
        args += ["--ledger-level", ledger]
        if ledger != "off" { args += ["--ledger", work.path + "/ledger.jsonl"] }
        let child = try Child(name: "sputter", path: path, arguments: args, stderrPath: work.path + "/sputter.err")
        let port = try child.waitForLine { line -> Int? in
            guard line.hasPrefix("sputter listening on http://"),
                  let colon = line.split(separator: " ")[3].lastIndex(of: ":") else { return nil }
            let address = line.split(separator: " ")[3]
            return Int(address[address.index(after: colon)...])
        }
        let controlPort = try child.waitForLine { line -> Int? in
            guard line.hasPrefix("control API on http://"), let colon = line.split(separator: " ")[3].lastIndex(of: ":") else { return nil }
            let address = line.split(separator: " ")[3]
            return Int(address[address.index(after: colon)...])
        }
        return RunningProxy(port: port, child: child, pids: { [child.pid] }, controlPort: controlPort)
    }

    /// nginx configured for SSE: HTTP/1.1 upstream without `Connection: close`, no buffering, one worker.
    static func nginx(path: String, originPort: Int, work: WorkDir, maxFiles: Int) throws -> RunningProxy {
        let port = freePort()
        let dir = work.path + "/nginx"
        try FileManager.default.createDirectory(atPath: dir + "/tmp", withIntermediateDirectories: true)
        let conf = """
        daemon off;
        master_process on;
        worker_processes 1;
        worker_rlimit_nofile \(maxFiles);
        pid \(dir)/nginx.pid;
        error_log \(dir)/error.log warn;
        user root;
        events {
            worker_connections \(maxFiles);
            use epoll;
        }
        http {
            access_log off;
            client_body_temp_path \(dir)/tmp/body;
            proxy_temp_path \(dir)/tmp/proxy;
            fastcgi_temp_path \(dir)/tmp/fastcgi;
            uwsgi_temp_path \(dir)/tmp/uwsgi;
            scgi_temp_path \(dir)/tmp/scgi;
            server {
                listen 127.0.0.1:\(port) backlog=4096;
                location / {
                    proxy_pass http://127.0.0.1:\(originPort);
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_buffering off;
                    proxy_cache off;
                    proxy_read_timeout 1h;
                }
            }
        }

        """
        try conf.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        let child = try Child(name: "nginx", path: path, arguments: ["-p", dir, "-c", dir + "/nginx.conf", "-e", dir + "/error.log"],
                              stderrPath: dir + "/stderr.log")
        // nginx prints nothing when it is up: wait until the port accepts.
        let deadline = Date().addingTimeInterval(10)
        while !canConnect(port: port) {
            if !child.isRunning || Date() > deadline {
                child.stop()
                throw ChildError(description: "nginx did not start; its error log:\n\(tail(dir + "/error.log"))\n\(tail(dir + "/stderr.log"))")
            }
            usleep(10_000)
        }
        let master = child.pid
        return RunningProxy(port: port, child: child, pids: { [master] + Proc.children(master) })
    }
}

func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// A blocking `GET` on 127.0.0.1 with `Connection: close`: the response body, or nil. For the few control-API
/// reads around a measuring window (never on the load client's loop).
func httpGet(port: Int, path: String) -> String? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var tv = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
    var response: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        response.append(contentsOf: buf[..<n])
    }
    let text = String(decoding: response, as: UTF8.self)
    guard text.hasPrefix("HTTP/1.1 200"), let body = text.range(of: "\r\n\r\n") else { return nil }
    return String(text[body.upperBound...])
}
