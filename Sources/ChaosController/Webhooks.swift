public import ChaosCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Posts controller events to webhooks: the event as JSON, or `{"text": ...}` for Slack-compatible
/// incoming webhooks. Best effort: a hook that fails is logged by the caller and never delays a run
/// (each post is bounded to 5 seconds).
public final class WebhookSender: Sendable {
    let hooks: [WebhookSpec]
    let client: HTTPClient

    public init(_ hooks: [WebhookSpec]) {
        self.hooks = hooks
        client = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    /// The body posted for `event` in `format`.
    public static func body(_ event: ControllerEvent, format: WebhookSpec.Format) -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        switch format {
        case .json: return (try? enc.encode(event)) ?? Data("{}".utf8)
        case .slack: return (try? enc.encode(["text": event.summary])) ?? Data("{}".utf8)
        }
    }

    /// Posts to every hook that wants the event; returns one line per failure.
    public func send(_ event: ControllerEvent) async -> [String] {
        await withTaskGroup(of: String?.self) { group in
            for hook in hooks where hook.wants(event.kind) {
                group.addTask {
                    var request = HTTPClientRequest(url: hook.url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.headers.add(name: "User-Agent", value: "chaos-controller")
                    request.body = .bytes(ByteBuffer(bytes: Array(Self.body(event, format: hook.format))))
                    do {
                        let response = try await self.client.execute(request, timeout: .seconds(5))
                        _ = try? await response.body.collect(upTo: 64 * 1024)
                        return (200..<300).contains(Int(response.status.code)) ? nil : "webhook \(hook.url) answered \(response.status.code)"
                    } catch {
                        return "webhook \(hook.url) failed: \(error)"
                    }
                }
            }
            var failures: [String] = []
            for await f in group { if let f { failures.append(f) } }
            return failures
        }
    }

    public func shutdown() async { try? await client.shutdown() }
}
