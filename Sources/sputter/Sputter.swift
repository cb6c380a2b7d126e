import ArgumentParser

@main
struct Sputter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sputter",
        abstract: "A fault-injecting proxy for Server-Sent Events.",
        discussion: """
        Sputter sits between an SSE client and its backend, relays the stream, and misbehaves on purpose.
        `sputter --upstream URL` is the same as `sputter serve --upstream URL`.
        """,
        subcommands: [Serve.self, DemoOriginCommand.self, Demo.self, ProfilesCommand.self, LedgerCommand.self],
        defaultSubcommand: Serve.self
    )
}
