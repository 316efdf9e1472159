import HeraldCore
import Hummingbird

/// The request context of the API's routes: Hummingbird's core storage, and the API key that
/// the authenticator accepted for the request.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``APIAuthenticator``; nil on the public routes (health, tracking, unsubscribe, webhooks).
    public var key: APIKeyRecord?

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
    }

    /// Bodies are read by the routes themselves, with ``JSONBody/maximumBytes``.
    public var maxUploadSize: Int { JSONBody.maximumBytes }
}
