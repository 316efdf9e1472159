// swift-tools-version:6.1
import PackageDescription

/// One set of settings for every target, as in Hummingbird: existential `any` spelled out and
/// imports visible only where they are written.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Herald",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "herald", targets: ["herald"]),
        .library(name: "HeraldCore", targets: ["HeraldCore"]),
        .library(name: "HeraldTesting", targets: ["HeraldTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .target(name: "HeraldCore", swiftSettings: swiftSettings),
        .target(name: "HeraldRules", dependencies: ["HeraldCore"], swiftSettings: swiftSettings),
        .target(
            name: "HeraldDefinitions",
            dependencies: ["HeraldCore", "HeraldRules", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HeraldContent",
            dependencies: [
                "HeraldCore", .product(name: "Mustache", package: "swift-mustache"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HeraldStore",
            dependencies: ["HeraldCore", "HeraldRules", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HeraldEngine",
            dependencies: [
                "HeraldCore", "HeraldRules", "HeraldContent",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HeraldTesting",
            dependencies: ["HeraldCore", "HeraldDefinitions", "HeraldContent", "HeraldStore", "HeraldEngine"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "herald",
            dependencies: [
                "HeraldCore", "HeraldRules", "HeraldDefinitions", "HeraldContent", "HeraldStore", "HeraldEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HeraldCoreTests", dependencies: ["HeraldCore", "HeraldTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HeraldRulesTests",
            dependencies: ["HeraldCore", "HeraldRules", "HeraldStore", "HeraldTesting", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HeraldDefinitionsTests", dependencies: ["HeraldDefinitions", "HeraldCore", "HeraldTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "HeraldContentTests", dependencies: ["HeraldContent", "HeraldCore", "HeraldTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HeraldStoreTests",
            dependencies: ["HeraldStore", "HeraldRules", "HeraldTesting", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HeraldEngineTests", dependencies: ["HeraldEngine", "HeraldContent", "HeraldStore", "HeraldTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HeraldCLITests",
            dependencies: ["herald", "HeraldStore", "HeraldTesting"],
            swiftSettings: swiftSettings
        ),
    ]
)
