import Testing
@testable import ChaosCore

/// Validation reports every problem of a file, not just the first (design.md, "Files users write").
@Suite("Every problem is reported")
struct EveryProblemTests {
    static let manyMistakes = """
        apiVersion: chaos/v1
        kind: Experiment
        name: Bad Name
        target:
          process: {name: web, pid: 7}
        fault:
          type: process.pause
          duration: 30
        probes:
          - name: web
            type: http
            url: ftp://x
            interval: 1s
            timeout: 2s
        safety:
          dryRun: maybe
        colour: red
        """

    /// In document order.
    static let expected = [
        "t.yaml:3:7: name: 'Bad Name' is not a valid name; use lowercase letters, digits, '-', '_' and '.', starting with a letter or digit (at most 63)",
        "t.yaml:5:12: target.process: gives more than one way to find the process; give exactly one of pid, pidfile, name, match, port or unit",
        "t.yaml:8:13: fault.duration: '30' has no unit; use a number with a unit: ms, s, m, h or d, e.g. '500ms', '30s', '2m' or '1h30m'",
        "t.yaml:12:10: probes[0].url: 'ftp://x' is not an http or https URL; start it with 'http://' or 'https://'",
        "t.yaml:14:5: probes[0].timeout: timeout 2s is longer than the interval 1s; keep the timeout at most the interval, or observations overlap",
        "t.yaml:16:11: safety.dryRun: expected true or false, found 'maybe'",
        "t.yaml:17:1: colour: unknown field; known fields here: apiVersion, description, expect, fault, kind, name, probes, safety, schedule, stopWhen, target, weight",
    ]

    @Test("a file with seven mistakes gets seven diagnostics, one per mistake")
    func allReported() {
        let loaded = Doc.load(Self.manyMistakes)
        #expect(loaded.document == nil)
        let sorted = loaded.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) }.map(\.description)
        #expect(sorted == Self.expected)
    }

    @Test("diagnostics come in document order, whatever order the fields are read in")
    func documentOrder() {
        #expect(Doc.diagnostics(Self.manyMistakes) == Self.expected)
        // Unknown keys are found last (in finish()) but listed where they are; so are rules between fields.
        let text = """
            apiVersion: chaos/v1
            colour: red
            kind: Experiment
            fault: {type: process.pause, duration: 1s}
            target: {}
            name: x
            """
        #expect(Doc.diagnostics(text) == [
            "t.yaml:2:1: colour: unknown field; known fields here: apiVersion, description, expect, fault, kind, name, probes, safety, schedule, stopWhen, target, weight",
            "t.yaml:5:9: target.process: process.pause needs processes to act on; add e.g. 'process: {name: redis-server}' (pid, pidfile, name, match, port or unit)",
        ])
    }

    @Test("problems at the same position keep the order they were found in")
    func stableOrder() {
        let got = Doc.diagnostics(Doc.experimentHeader + "\ntarget: {}\nfault: {type: disk.fill, duration: 5m}\n")
        #expect(got == [
            "t.yaml:5:8: fault.with.path: is required; add e.g. 'path: /var/lib/redis'",
            "t.yaml:5:8: fault.with: says nothing about how much to fill; give exactly one: 'percent: 95', 'free: 100MiB' or 'size: 1GiB'",
        ])
    }

    @Test("problems in an inventory are all reported too")
    func inventoryAllReported() {
        let text = """
            apiVersion: chaos/v1
            kind: Inventory
            hosts:
              - {name: db1, address: 10.0.0.1, tags: [db]}
              - {name: db2, address: 10.0.0.2, agent: "ftp://x"}
            targets:
              - {name: T1, host: db3}
            groups:
              - {name: g1, members: [db2], minHealthy: 5}
            dependencies:
              - {from: g1, to: nowhere}
            """
        let got = Doc.diagnostics(text).sorted()
        #expect(got == [
            "t.yaml:5:43: hosts[1].agent: 'ftp://x' is not an agent URL; write e.g. 'https://10.0.0.11:7433' or 'unix:/run/chaos/agent.sock'",
            "t.yaml:7:12: targets[0].name: 'T1' is not a valid name; use lowercase letters, digits, '-', '_' and '.', starting with a letter or digit (at most 63)",
            "t.yaml:7:22: targets[0].host: no host is named 'db3'; did you mean 'db1'?",
            "t.yaml:9:32: groups[0].minHealthy: 5 is more than the 1 member; use at most 1",
            "t.yaml:11:20: dependencies[0].to: nothing is named 'nowhere'; name a host, target, group or service",
        ].sorted())
    }

    @Test("one broken probe does not make a valid stopWhen reference fail")
    func noCascadeFromOneBadProbe() {
        let text = """
            apiVersion: chaos/v1
            kind: Experiment
            name: x
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: web, type: tcp, address: "10.0.0.1:80"}
              - {name: api, type: tcpp}
            stopWhen:
              - {probe: web, availabilityBelow: 50%, for: 10s}
            """
        let got = Doc.diagnostics(text)
        let real = "t.yaml:8:23: probes[1].type: 'tcpp' is not allowed; did you mean 'tcp'? Allowed: 'http', 'tcp', 'command', 'prometheus'"
        #expect(got == [real])
    }
}
