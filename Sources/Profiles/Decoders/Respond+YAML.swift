import Faults

extension FaultDecoder {
    static let respond = FaultDecoder(
        name: "respond",
        keys: ["status", "reason", "retry_after", "content_type", "headers", "body", "keep_open", "slow_headers", "delay"]
    ) { m throws(ProfileError) in
        var r = RespondFault(status: try m.required("status").int(in: 200...599))
        r.reason = try m["reason"]?.string()
        r.retryAfter = try m["retry_after"]?.string("seconds or an HTTP date")
        r.contentType = try m["content_type"].map { v throws(ProfileError) in v.isNull ? "" : try v.string() }
        if let h = m["headers"] {
            let hm = try h.map("headers")
            for e in hm.entries {
                r.headers.append(HeaderField(name: e.key, value: try e.value.string("a header value")))
            }
        }
        r.body = Array((try m["body"]?.string() ?? "").utf8)
        r.keepOpen = try m["keep_open"]?.bool() ?? false
        if let s = m["slow_headers"] {
            let sm = try s.map("slow_headers")
            try sm.check(allowed: ["slice_bytes", "pause"])
            r.slowHeaders = .init(bytes: try sm.required("slice_bytes").int(in: 1...Int.max), pause: try sm.required("pause").nanos())
        }
        r.delay = try m["delay"]?.nanos() ?? 0
        return .respond(r)
    }
}
