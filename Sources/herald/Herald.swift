import ArgumentParser

/// `herald`: the command line. It parses arguments and wires concrete types together; the logic
/// lives in the library modules.
@main
struct Herald: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "Self-hosted push, SMS and email notifications from campaign files in git.",
        version: "0.1.0",
        subcommands: [
            InitCommand.self, ValidateCommand.self, UsersCommand.self, AudienceCommand.self, PreviewCommand.self, PlanCommand.self, SendCommand.self,
            TriggerCommand.self, DeliverCommand.self, WorkerCommand.self, RunCommand.self, ServeCommand.self, ReportCommand.self, QueueCommand.self, TraceCommand.self,
            DeadLetterCommand.self, ScheduleCommand.self, KeysCommand.self, StoreCommand.self, DemoCommand.self, BenchCommand.self, SandboxCommand.self, SchemaCommand.self,
        ]
    )
}
