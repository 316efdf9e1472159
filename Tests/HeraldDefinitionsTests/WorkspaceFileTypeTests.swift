import Foundation
import HeraldCore
import HeraldDefinitions
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What is not a plain file in a workspace is reported, never opened and never silently skipped:
/// `herald validate` must not hang on a named pipe, read a device forever, or call a workspace
/// valid while a campaign on disk was never looked at.
struct WorkspaceFileTypeTests {
    static let expectedFile = "expected a regular file or a link to one"

    func link(_ workspace: TemporaryWorkspace, _ path: String, to destination: String) throws {
        let url = workspace.root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: destination)
    }

    func makeFIFO(_ workspace: TemporaryWorkspace, _ path: String) throws {
        let url = workspace.root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try #require(mkfifo(url.path, 0o644) == 0)
    }

    // MARK: special files are refused before they are opened

    @Test(.timeLimit(.minutes(3))) func namedPipeIsReportedWithoutBlocking() throws {
        try withSampleWorkspace { workspace in
            try makeFIFO(workspace, "campaigns/x.yml")
            let (loaded, diagnostics) = workspace.load()
            #expect(diagnostics.map(\.description) == [
                "campaigns/x.yml:1:1: not a regular file (found a named pipe; \(Self.expectedFile))",
            ])
            #expect(loaded == nil)
        }
    }

    @Test(.timeLimit(.minutes(3))) func namedPipeAsConfigurationOrBodyFileIsReported() throws {
        try withSampleWorkspace { workspace in
            try workspace.remove("herald.yml")
            try makeFIFO(workspace, "herald.yml")
            try workspace.remove("templates/restock.txt")
            try makeFIFO(workspace, "templates/restock.txt")
            let (loaded, diagnostics) = workspace.load()
            #expect(diagnostics.map(\.description) == [
                "herald.yml:1:1: not a regular file (found a named pipe; \(Self.expectedFile))",
                "templates/restock.txt:1:1: not a regular file (found a named pipe; \(Self.expectedFile))",
            ])
            #expect(loaded == nil)
        }
    }

    @Test(.timeLimit(.minutes(3))) func linkToADeviceIsReportedAsTheDeviceNotByTheLinkSize() throws {
        try withSampleWorkspace { workspace in
            try link(workspace, "campaigns/x.yml", to: "/dev/zero")
            let (loaded, diagnostics) = workspace.load()
            #expect(diagnostics.map(\.description) == [
                "campaigns/x.yml:1:1: not a regular file (found a character device; \(Self.expectedFile))",
            ])
            #expect(loaded == nil)
        }
    }

    // MARK: nothing named .yml is skipped

    @Test func directoriesAndBrokenLinksNamedYmlAreReported() throws {
        try withSampleWorkspace { workspace in
            try FileManager.default.createDirectory(
                at: workspace.root.appendingPathComponent("campaigns/winter-sale.yml"), withIntermediateDirectories: true
            )
            try link(workspace, "campaigns/dangling.yml", to: "does-not-exist.yml")
            try link(workspace, "campaigns/loop.yml", to: "loop.yml")
            try link(workspace, "campaigns/root.yml", to: "/")
            try link(workspace, "segments/gone.yml", to: "/nonexistent/gone.yml")
            try FileManager.default.createDirectory(
                at: workspace.root.appendingPathComponent("templates/promo.yml"), withIntermediateDirectories: true
            )
            let (loaded, diagnostics) = workspace.load()
            #expect(diagnostics.map(\.description) == [
                "campaigns/dangling.yml:1:1: not a regular file (found a symbolic link whose target does not exist; \(Self.expectedFile))",
                "campaigns/loop.yml:1:1: not a regular file (found a symbolic link that loops back on itself; \(Self.expectedFile))",
                "campaigns/root.yml:1:1: not a regular file (found a directory; \(Self.expectedFile))",
                "campaigns/winter-sale.yml:1:1: not a regular file (found a directory; \(Self.expectedFile))",
                "segments/gone.yml:1:1: not a regular file (found a symbolic link whose target does not exist; \(Self.expectedFile))",
                "templates/promo.yml:1:1: not a regular file (found a directory; \(Self.expectedFile))",
            ])
            #expect(loaded == nil)
        }
    }

    @Test func campaignsFolderThatIsAFileIsReported() throws {
        try withSampleWorkspace { workspace in
            try workspace.remove("campaigns")
            try workspace.write("campaigns", "campaign: restock-air-max\n")
            let (loaded, diagnostics) = workspace.load()
            #expect(diagnostics.map(\.description) == [
                "campaigns:1:1: not a directory (found a regular file; expected a directory of campaign .yml files)",
            ])
            #expect(loaded == nil)
        }
    }

    @Test func segmentsFolderThatIsABrokenLinkIsReported() throws {
        try withSampleWorkspace { workspace in
            try workspace.remove("segments")
            try link(workspace, "segments", to: "elsewhere")
            let (loaded, diagnostics) = workspace.load()
            // The campaign's segment is then unknown too: both are what a user must fix.
            #expect(diagnostics.map(\.description) == [
                "campaigns/weekly-digest.yml:4:12: unknown segment 'wishlisters' (no file segments/wishlisters.yml)",
                "segments:1:1: not a directory (found a symbolic link whose target does not exist; expected a directory of segment .yml files)",
            ])
            #expect(loaded == nil)
        }
    }

    @Test func linksToRegularFilesAndFoldersStillLoad() throws {
        try withSampleWorkspace { workspace in
            let elsewhere = workspace.root.appendingPathComponent(".elsewhere")
            try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
            try FileManager.default.moveItem(
                at: workspace.root.appendingPathComponent("campaigns/weekly-digest.yml"),
                to: elsewhere.appendingPathComponent("weekly.yml")
            )
            try link(workspace, "campaigns/weekly-digest.yml", to: elsewhere.appendingPathComponent("weekly.yml").path)
            try FileManager.default.moveItem(at: workspace.root.appendingPathComponent("segments"), to: elsewhere.appendingPathComponent("segments"))
            try link(workspace, "segments", to: ".elsewhere/segments")
            // Not .yml, or hidden: ignored, whatever their type.
            try makeFIFO(workspace, "campaigns/notes.txt")
            try link(workspace, "campaigns/.draft.yml", to: "missing")
            let (loaded, diagnostics) = workspace.load()
            #expect(diagnostics.map(\.description) == [])
            let result = try #require(loaded)
            #expect(result.campaigns.map(\.id) == ["cart-abandoned", "restock-air-max", "weekly-digest"])
            #expect(result.segments.keys.sorted() == ["wishlisters"])
        }
    }

    // MARK: byte order mark

    @Test func byteOrderMarkIsIgnoredAndTakesNoColumn() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        try withSampleWorkspace { workspace in
            for (path, text) in SampleWorkspace.files where path.hasSuffix(".yml") {
                try workspace.write(path, bytes: Data(bom + Array(text.utf8)))
            }
            let (loaded, diagnostics) = workspace.load()
            #expect(diagnostics.map(\.description) == [])
            let result = try #require(loaded)
            #expect(result.campaign(id: "restock-air-max")?.audience == .rule(RuleSource(
                text: #"country in ["KR", "JP"] and "sku-123" in wishlist and last_seen_at > now() - 30d"#,
                location: SourceLocation(file: "campaigns/restock-air-max.yml", line: 5, column: 10)
            )))
            #expect(result.configuration.attributes["plan"]?.allowedValues == ["free", "pro", "enterprise"])

            let renamed = SampleWorkspace.campaign.replacingOccurrences(of: "campaign: restock-air-max", with: "campaign: restock-air-min")
            try workspace.write("campaigns/restock-air-max.yml", bytes: Data(bom + Array(renamed.utf8)))
            #expect(workspace.load().diagnostics.map(\.description) == [
                "campaigns/restock-air-max.yml:1:11: campaign id 'restock-air-min' does not match the file name 'restock-air-max.yml' (rename the file to campaigns/restock-air-min.yml, or write campaign: restock-air-max)",
            ])

            try workspace.write("campaigns/restock-air-max.yml", bytes: Data(bom + Array("campaign: caf".utf8) + [0xE9] + Array("\n".utf8)))
            #expect(workspace.load().diagnostics.map(\.description) == [
                "campaigns/restock-air-max.yml:1:14: file is not valid UTF-8: byte 0xE9 at offset 16 (save the file as UTF-8)",
            ])
        }
    }
}
