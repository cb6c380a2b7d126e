import Faults

extension FaultDecoder {
    static let lastEventID = FaultDecoder(name: "last_event_id", keys: ["remove", "set"]) { m throws(ProfileError) in
        let (key, v) = try m.exactlyOne(of: ["remove", "set"])
        if key == "remove" {
            try v.trueFlag()
            return .lastEventID(LastEventIDFault(.remove))
        }
        return .lastEventID(LastEventIDFault(.set(try v.string())))
    }
}
