import ArgumentParser
import Foundation
import Profiles

struct ProfilesListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Print each profile's name and the first sentence of its description.")

    @OptionGroup var directory: ProfilesDirectoryOption

    func validate() throws {
        _ = try directory.library()
    }

    func run() throws {
        let profiles = try directory.library().all
        let width = (profiles.map(\.name.count).max() ?? 0) + 2
        for profile in profiles {
            let name = profile.name.padding(toLength: width, withPad: " ", startingAt: 0)
            say(String((name + firstSentence(of: profile.description)).trimmingSuffix(while: \.isWhitespace)))
        }
    }
}

/// The description up to and including its first full stop that is followed by white space
/// (or the end), with runs of white space collapsed. Not handled: abbreviations other than
/// "e.g." and "i.e.".
func firstSentence(of text: String) -> String {
    let words = text.split(whereSeparator: \.isWhitespace)
    var out: [Substring] = []
    for word in words {
        out.append(word)
        if word.hasSuffix("."), word != "e.g.", word != "i.e." { break }
    }
    return out.joined(separator: " ")
}

extension StringProtocol {
    func trimmingSuffix(while predicate: (Character) -> Bool) -> SubSequence {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[..<end]
    }
}
