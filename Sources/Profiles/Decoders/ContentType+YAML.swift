import Faults

extension FaultDecoder {
    static let contentType = FaultDecoder(name: "content_type", keys: ["set", "remove"]) { m throws(ProfileError) in
        let (key, v) = try m.exactlyOne(of: ["set", "remove"])
        if key == "remove" {
            try v.trueFlag()
            return .contentType(ContentTypeFault(.remove))
        }
        return .contentType(ContentTypeFault(.set(try v.string())))
    }
}
