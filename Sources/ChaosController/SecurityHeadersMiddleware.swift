import Hummingbird

/// Puts the dashboard's security headers on every response of the controller (pages, redirects, JSON,
/// errors): a content security policy that loads nothing from anywhere and lets no site frame the
/// pages (`frame-ancestors 'none'`, with `X-Frame-Options: DENY` for older browsers), no MIME sniffing
/// and no referrer. `frame-ancestors` only works as a header: browsers ignore it in a `<meta>` tag.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var policy: String { "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do { response = try await next(request, context) } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.contentSecurityPolicy] = Self.policy
        response.headers[.xContentTypeOptions] = "nosniff"
        if let frame = HTTPFields.Element.Name("X-Frame-Options") { response.headers[frame] = "DENY" }
        if let referrer = HTTPFields.Element.Name("Referrer-Policy") { response.headers[referrer] = "no-referrer" }
        return response
    }
}
