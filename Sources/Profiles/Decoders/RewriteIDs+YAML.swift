import Faults

extension FaultDecoder {
    static let rewriteIDs = FaultDecoder(name: "rewrite_ids", keys: ["offset", "reuse_back", "append_nul", "set"]) {
        m throws(ProfileError) in
        let (key, v) = try m.exactlyOne(of: ["offset", "reuse_back", "append_nul", "set"])
        switch key {
        case "offset": return .rewriteIDs(RewriteIDsFault(.offset(try v.int(in: Int(Int32.min)...Int(Int32.max)))))
        case "reuse_back": return .rewriteIDs(RewriteIDsFault(.reuse(back: try v.int(in: 1...10_000))))
        case "append_nul":
            try v.trueFlag()
            return .rewriteIDs(RewriteIDsFault(.appendNUL))
        default: return .rewriteIDs(RewriteIDsFault(.set(try v.string())))
        }
    }
}
