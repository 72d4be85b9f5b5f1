import Testing
@testable import ChaosCore

/// Invalid inventories and their exact diagnostics. Most start with `Doc.inventoryHeader`
/// (lines 1-4: apiVersion, kind, `hosts:` and one host `db1` tagged `db`), so the first line below is line 5.
@Suite("Inventory diagnostics")
struct InventoryDiagnosticsTests {
    static func inventory(_ body: String) -> String { Doc.inventoryHeader + "\n" + body + "\n" }

    static let cases: [InvalidCase] = [
        InvalidCase(title: "a target on a host that does not exist", text: inventory("""
            targets:
              - name: db-primary
                host: db2
            """), diagnostics: ["t.yaml:7:11: targets[0].host: no host is named 'db2'; did you mean 'db1'?"]),

        InvalidCase(title: "a target on a host far from any name", text: inventory("""
            targets:
              - name: web
                host: frontend
            """), diagnostics: ["t.yaml:7:11: targets[0].host: no host is named 'frontend'; define it under 'hosts'"]),

        InvalidCase(title: "a target by tags nobody carries", text: inventory("""
            targets:
              - name: caches
                tags: [cache]
            """), diagnostics: ["t.yaml:7:11: targets[0].tags: no host carries all of the tags cache; check the hosts' 'tags'"]),

        InvalidCase(title: "a target with two ways to find its host", text: inventory("""
            targets:
              - name: web
                host: db1
                tags: [db]
            """), diagnostics: ["t.yaml:6:5: targets[0]: gives more than one way to find the host; give exactly one of 'host: db1', 'tags: [db]' or 'resolve: {command: [...]}'"]),

        InvalidCase(title: "a target with no way to find its host", text: inventory("""
            targets:
              - name: web
                process: {name: nginx}
            """), diagnostics: ["t.yaml:6:5: targets[0]: says nothing about which host; give exactly one of 'host: db1', 'tags: [db]' or 'resolve: {command: [...]}'"]),

        InvalidCase(title: "a resolver command that is not a list", text: inventory("""
            targets:
              - name: db-primary
                resolve:
                  command: redis-cli get-master
            """), diagnostics: ["t.yaml:8:16: targets[0].resolve.command: expected a list, found a string; write it as '[a, b]' or one '- item' per line"]),

        InvalidCase(title: "a resolver without a command", text: inventory("""
            targets:
              - name: db-primary
                resolve: {timeout: 5ms}
            """), diagnostics: [
                #"t.yaml:7:14: targets[0].resolve.command: is required; add the argv, e.g. 'command: [redis-cli, -p, "26379", sentinel, get-master-addr-by-name, mymaster]'"#,
                "t.yaml:7:24: targets[0].resolve.timeout: '5ms' is shorter than the minimum 10ms; use at least '10ms'",
            ]),

        InvalidCase(title: "minHealthy larger than the group", text: inventory("""
            groups:
              - name: redis
                members: [db1]
                minHealthy: 2
            """), diagnostics: ["t.yaml:8:5: groups[0].minHealthy: 2 is more than the 1 members; use at most 1"]),

        InvalidCase(title: "a group member that does not exist", text: inventory("""
            groups:
              - name: redis
                members: [db1, db3]
                minHealthy: 1
            """), diagnostics: ["t.yaml:7:20: groups[0].members[1]: no host or target is named 'db3'; did you mean 'db1'?"]),

        InvalidCase(title: "a group without members and minHealthy", text: inventory("""
            groups:
              - name: redis
            """), diagnostics: [
                "t.yaml:6:5: groups[0].members: is required; list host or target names",
                "t.yaml:6:5: groups[0].minHealthy: is required; add e.g. 'minHealthy: 2'",
            ]),

        InvalidCase(title: "two hosts with the same name", text: """
            apiVersion: chaos/v1
            kind: Inventory
            hosts:
              - {name: db1, address: 10.0.0.1}
              - {name: db1, address: 10.0.0.2}
            """, diagnostics: ["t.yaml:3:1: hosts: host name 'db1' is defined twice; give each its own host name"]),

        InvalidCase(title: "two hosts with the same address", text: """
            apiVersion: chaos/v1
            kind: Inventory
            hosts:
              - {name: db1, address: 10.0.0.1}
              - {name: db2, address: 10.0.0.1}
            """, diagnostics: ["t.yaml:3:1: hosts: host address '10.0.0.1' is defined twice; give each its own host address"]),

        InvalidCase(title: "a group named like a target", text: inventory("""
            targets:
              - {name: redis, host: db1}
            groups:
              - {name: redis, members: [db1], minHealthy: 1}
            """), diagnostics: ["t.yaml:5:1: targets: target or group name 'redis' is defined twice; give each its own target or group name"]),

        InvalidCase(title: "a host without an address and with a bad agent URL", text: """
            apiVersion: chaos/v1
            kind: Inventory
            hosts:
              - name: db1
                agent: 10.0.0.1:7433
            """, diagnostics: [
                "t.yaml:4:5: hosts[0].address: is required; add the IP address or DNS name",
                "t.yaml:5:12: hosts[0].agent: '10.0.0.1:7433' is not an agent URL; write e.g. 'https://10.0.0.11:7433' or 'unix:/run/chaos/agent.sock'",
            ]),

        InvalidCase(title: "an inventory without hosts", text: """
            apiVersion: chaos/v1
            kind: Inventory
            targets: []
            """, diagnostics: ["t.yaml:1:1: hosts: is required; list the hosts, e.g. 'hosts: [{name: db1, address: 10.0.0.11}]'"]),

        InvalidCase(title: "a dependency on nothing", text: inventory("""
            dependencies:
              - {from: web, to: db1, kind: strong}
            """), diagnostics: [
                "t.yaml:6:12: dependencies[0].from: nothing is named 'web'; name a host, target or group",
                "t.yaml:6:32: dependencies[0].kind: 'strong' is not allowed; allowed: 'hard', 'soft'",
            ]),

        InvalidCase(title: "an unknown inventory field", text: inventory("""
            grups: []
            """), diagnostics: ["t.yaml:5:1: grups: unknown field; did you mean 'groups'?"]),
    ]

    @Test("each invalid inventory gives exactly its diagnostics", arguments: cases)
    func invalid(_ c: InvalidCase) {
        let loaded = Doc.load(c.text, expecting: "Inventory")
        #expect(loaded.diagnostics.map(\.description) == c.diagnostics)
        #expect(loaded.document == nil)
    }

    @Test(
        "a duplicate group name is reported on the groups, not on 'targets'",
        .bug(id: "duplicate-group-path", "InventoryReader.read (InventoryReader.swift:20) checks target and group names together and always reports at top.location(of: \"targets\") with the path 'targets'. With no 'targets' key at all, two groups named 'g' give 't.yaml:1:1: targets: target or group name 'g' is defined twice', pointing at the top of the file and at a field that does not exist. Fix: report each duplicate at its own entry, e.g. 'groups[1].name' at that name's position.")
    )
    func duplicateGroupPath() throws {
        let got = Doc.diagnostics(Self.inventory("""
            groups:
              - {name: g, members: [db1], minHealthy: 1}
              - {name: g, members: [db1], minHealthy: 1}
            """), expecting: "Inventory")
        let only = try #require(got.first)
        #expect(got.count == 1)
        #expect(only.contains("target or group name 'g' is defined twice"))
        withKnownIssue("reported at 'targets', which is not in the file") {
            #expect(only.hasPrefix("t.yaml:7:12: groups[1].name: "))
        }
    }

    @Test(
        "one broken host does not make valid references to other hosts fail",
        .bug(id: "inventory-cascade", "InventoryReader.read (InventoryReader.swift:10) keeps 'hosts' only when every host reads cleanly (FieldReader.list returns nil on any bad item), so one host missing its address empties the host list and every target naming a good host gets a false 'no host is named' diagnostic. Fix: have list() return the items that did read (and report the rest), or check references against the names written in the file.")
    )
    func noCascadeFromOneBadHost() {
        let text = """
            apiVersion: chaos/v1
            kind: Inventory
            hosts:
              - {name: db1, address: 10.0.0.1}
              - {name: db2}
            targets:
              - {name: db-primary, host: db1}
            """
        let got = Doc.diagnostics(text, expecting: "Inventory")
        // The real problem is always reported...
        #expect(got.first == "t.yaml:5:5: hosts[1].address: is required; add the IP address or DNS name")
        // ...but 'db1' exists, so nothing else should be.
        withKnownIssue("false 'no host is named' after one bad host") {
            #expect(got == ["t.yaml:5:5: hosts[1].address: is required; add the IP address or DNS name"])
        }
    }
}
