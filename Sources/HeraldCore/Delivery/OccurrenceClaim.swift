import Foundation

/// What a scheduler gets when it asks to plan one scheduled occurrence
/// (`Store.claimOccurrence(campaignID:fireAt:definitionHash:owner:lease:at:)`).
///
/// The claim is made in one write transaction, so of several schedulers asking for the same
/// campaign and fire instant at the same moment exactly one gets ``created(_:)``, and the others
/// ``held(by:until:)`` or, once it is done, ``planned(_:)``.
public enum OccurrenceClaim: Sendable, Hashable {
    /// New: the caller holds its planning lease and plans it.
    case created(Occurrence)
    /// Its planning stopped part way (the lease expired, was released, or is the caller's own
    /// from before a restart): the caller now holds the lease and resumes it.
    case resumed(Occurrence)
    /// Another scheduler is planning it and its lease runs until `until`.
    case held(by: String, until: Date)
    /// Planned completely before: never planned again, even after the campaign was edited.
    case planned(Occurrence)
    /// Recorded as expired before (missed by more than the catch-up grace).
    case expired
}
