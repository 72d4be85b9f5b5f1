import ChaosCore
import Testing

@Suite("Strings a stranger sends")
struct HostileStringTests {
    @Test("a NUL decoded from a JSON escape is refused in every string field, where C would cut the text short")
    func nul() {
        let body = #"{"idempotencyKey":"k","fault":{"type":"process.kill"},"target":{"process":{"pidfile":"/run/x.pid\u0000/../../etc/shadow"}}}"#
        let (request, diagnostics) = InjectRequest.read(body)
        #expect(request == nil)
        #expect(diagnostics.contains { $0.path == "target.process.pidfile" && $0.message.contains("U+0000") }, "\(diagnostics)")
    }

    @Test("control and bidirectional characters in a value are spelled out in the message")
    func visible() {
        let (_, diagnostics) = InjectRequest.read(#"{"idempotencyKey":"k","fault":{"type":"process.kill\u001b[31m\u202e"},"target":{}}"#)
        let text = diagnostics.map(\.description).joined()
        #expect(text.contains("U+001B") && text.contains("U+202E"), "\(text)")
        #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E })
    }
}
