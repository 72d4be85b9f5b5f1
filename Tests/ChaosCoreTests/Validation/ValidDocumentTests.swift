import Testing
@testable import ChaosCore

/// Complete, valid files load with no diagnostics and the right values, in YAML and in JSON.
@Suite("Loading valid documents")
struct ValidDocumentTests {
    static let experimentYAML = """
        apiVersion: chaos/v1
        kind: Experiment
        name: kill-db-primary
        description: The primary dies; a replica takes over.
        target:
          host: db1
          process: {name: redis-server}
          count: 1
          percent: 50%
          random: false
        fault:
          type: process.kill
          with: {signal: TERM}
        probes:
          - name: web
            type: http
            url: http://10.0.0.10/health
            method: GET
            headers: {Accept: application/json}
            interval: 2s
            timeout: 500ms
            tolerance:
              status: [200, "300-399"]
              bodyMatches: "ok"
              jsonPath: $.status
              equals: up
              latencyBelow: 300ms
            successThreshold: 2
            failureThreshold: 3
          - name: redis
            type: tcp
            address: 10.0.0.21:6379
          - name: ping
            type: command
            command: [redis-cli, ping]
            tolerance: {exitCode: 0, stdoutMatches: PONG}
          - name: up
            type: prometheus
            url: http://10.0.0.5:9090
            query: up{job="redis"}
            tolerance: {valueAbove: 0.5}
        expect:
          availability: {before: 100%, during: 99.5%, after: 100}
          maxOutage: 5s
          recoverWithin: 1m
          latency: {p99: 800ms}
        stopWhen:
          - probe: web
            availabilityBelow: 50%
            for: 10s
        schedule:
          cron: "0 10 * * mon-fri"
          timezone: Europe/Paris
          workdays: [mon, tue, wed]
          hours: 09:30-16:00
          holidays: [2026-12-25]
          blackouts:
            - {from: 2026-12-20, to: 2027-01-03, reason: holidays}
          minSpacing: {target: 1d, group: 4h}
        safety:
          maxCount: 1
          maxPercent: 50
          dryRun: true
          allowProtected: false
        """

    static let experimentJSON = """
        {
          "apiVersion": "chaos/v1",
          "kind": "Experiment",
          "name": "kill-db-primary",
          "description": "The primary dies; a replica takes over.",
          "target": {"host": "db1", "process": {"name": "redis-server"}, "count": 1, "percent": "50%", "random": false},
          "fault": {"type": "process.kill", "with": {"signal": "TERM"}},
          "probes": [
            {"name": "web", "type": "http", "url": "http://10.0.0.10/health", "method": "GET",
             "headers": {"Accept": "application/json"}, "interval": "2s", "timeout": "500ms",
             "tolerance": {"status": [200, "300-399"], "bodyMatches": "ok", "jsonPath": "$.status", "equals": "up",
                           "latencyBelow": "300ms"},
             "successThreshold": 2, "failureThreshold": 3},
            {"name": "redis", "type": "tcp", "address": "10.0.0.21:6379"},
            {"name": "ping", "type": "command", "command": ["redis-cli", "ping"], "tolerance": {"exitCode": 0, "stdoutMatches": "PONG"}},
            {"name": "up", "type": "prometheus", "url": "http://10.0.0.5:9090", "query": "up{job=\\"redis\\"}", "tolerance": {"valueAbove": 0.5}}
          ],
          "expect": {"availability": {"before": "100%", "during": "99.5%", "after": 100}, "maxOutage": "5s", "recoverWithin": "1m",
                     "latency": {"p99": "800ms"}},
          "stopWhen": [{"probe": "web", "availabilityBelow": "50%", "for": "10s"}],
          "schedule": {"cron": "0 10 * * mon-fri", "timezone": "Europe/Paris", "workdays": ["mon", "tue", "wed"],
                       "hours": "09:30-16:00", "holidays": ["2026-12-25"],
                       "blackouts": [{"from": "2026-12-20", "to": "2027-01-03", "reason": "holidays"}],
                       "minSpacing": {"target": "1d", "group": "4h"}},
          "safety": {"maxCount": 1, "maxPercent": 50, "dryRun": true, "allowProtected": false}
        }
        """

    static func expectedExperiment() throws -> Experiment {
        var web = ProbeSpec(name: "web", type: .http, interval: .seconds(2), timeout: .milliseconds(500), successThreshold: 2, failureThreshold: 3)
        web.url = "http://10.0.0.10/health"
        web.method = "GET"
        web.headers = ["Accept": "application/json"]
        web.tolerance.status = [StatusRange(200, 200), StatusRange(300, 399)]
        web.tolerance.bodyMatches = "ok"
        web.tolerance.jsonPath = "$.status"
        web.tolerance.equals = "up"
        web.tolerance.latencyBelow = .milliseconds(300)
        var redis = ProbeSpec(name: "redis", type: .tcp)
        redis.address = "10.0.0.21:6379"
        var ping = ProbeSpec(name: "ping", type: .command)
        ping.command = ["redis-cli", "ping"]
        ping.tolerance.exitCode = 0
        ping.tolerance.bodyMatches = "PONG"
        var up = ProbeSpec(name: "up", type: .prometheus)
        up.url = "http://10.0.0.5:9090"
        up.query = #"up{job="redis"}"#
        up.tolerance.valueAbove = 0.5
        var parameters = FaultParameters()
        parameters.signal = .term
        return Experiment(
            name: "kill-db-primary",
            description: "The primary dies; a replica takes over.",
            target: TargetSpec(host: "db1", process: ProcessSelector(name: "redis-server"), selection: Selection(count: 1, percent: 50, random: false)),
            fault: FaultSpec(type: .processKill, with: parameters),
            probes: [web, redis, ping, up],
            expect: ExpectSpec(availabilityBefore: 100, availabilityDuring: 99.5, availabilityAfter: 100, maxOutage: .seconds(5),
                               recoverWithin: .seconds(60), latencyP99: .milliseconds(800)),
            stopWhen: [StopCondition(probe: "web", availabilityBelow: 50, window: .seconds(10))],
            schedule: ScheduleSpec(cron: try CronExpression("0 10 * * mon-fri"), timezone: "Europe/Paris", workdays: [.mon, .tue, .wed],
                                   hours: TimeWindow(startMinute: 570, endMinute: 960), holidays: ["2026-12-25"],
                                   blackouts: [Blackout(from: "2026-12-20", to: "2027-01-03", reason: "holidays")],
                                   minSpacingTarget: .seconds(86_400), minSpacingGroup: .seconds(4 * 3_600)),
            safety: SafetySpec(maxCount: 1, maxPercent: 50, dryRun: true, allowProtected: false)
        )
    }

    static let inventoryYAML = """
        apiVersion: chaos/v1
        kind: Inventory
        hosts:
          - name: db1
            address: 10.0.0.11
            agent: https://10.0.0.11:7433
            tags: [db, primary-capable]
          - name: db2
            address: 10.0.0.12
            agent: unix:/run/chaos/agent.sock
            tags: [db]
          - {name: web1, address: web1.staging.example}
        targets:
          - name: db-primary
            description: Whichever redis is primary now.
            resolve:
              command: [redis-cli, -p, "26379", sentinel, get-master-addr-by-name, mymaster]
              timeout: 2s
            process: {name: redis-server}
          - name: db-replicas
            tags: [db]
            process: {unit: redis-server.service}
          - name: web
            host: web1
            process: {port: 8080}
        groups:
          - name: redis
            members: [db1, db2]
            minHealthy: 1
            health:
              type: tcp
              address: "{address}:6379"
        dependencies:
          - {from: web, to: redis}
          - {from: web, to: db-primary, kind: soft}
        """

    static let inventoryJSON = """
        {"apiVersion": "chaos/v1", "kind": "Inventory",
         "hosts": [
           {"name": "db1", "address": "10.0.0.11", "agent": "https://10.0.0.11:7433", "tags": ["db", "primary-capable"]},
           {"name": "db2", "address": "10.0.0.12", "agent": "unix:/run/chaos/agent.sock", "tags": ["db"]},
           {"name": "web1", "address": "web1.staging.example"}
         ],
         "targets": [
           {"name": "db-primary", "description": "Whichever redis is primary now.",
            "resolve": {"command": ["redis-cli", "-p", "26379", "sentinel", "get-master-addr-by-name", "mymaster"], "timeout": "2s"},
            "process": {"name": "redis-server"}},
           {"name": "db-replicas", "tags": ["db"], "process": {"unit": "redis-server.service"}},
           {"name": "web", "host": "web1", "process": {"port": 8080}}
         ],
         "groups": [{"name": "redis", "members": ["db1", "db2"], "minHealthy": 1,
                     "health": {"type": "tcp", "address": "{address}:6379"}}],
         "dependencies": [{"from": "web", "to": "redis"}, {"from": "web", "to": "db-primary", "kind": "soft"}]}
        """

    static func expectedInventory() -> Inventory {
        var health = ProbeSpec(name: "health", type: .tcp)
        health.address = "{address}:6379"
        return Inventory(
            hosts: [
                .init(name: "db1", address: "10.0.0.11", agent: "https://10.0.0.11:7433", tags: ["db", "primary-capable"]),
                .init(name: "db2", address: "10.0.0.12", agent: "unix:/run/chaos/agent.sock", tags: ["db"]),
                .init(name: "web1", address: "web1.staging.example"),
            ],
            targets: [
                .init(name: "db-primary", description: "Whichever redis is primary now.",
                      resolve: .init(command: ["redis-cli", "-p", "26379", "sentinel", "get-master-addr-by-name", "mymaster"], timeout: .seconds(2)),
                      process: ProcessSelector(name: "redis-server")),
                .init(name: "db-replicas", tags: ["db"], process: ProcessSelector(unit: "redis-server.service")),
                .init(name: "web", host: "web1", process: ProcessSelector(port: 8080)),
            ],
            groups: [.init(name: "redis", members: ["db1", "db2"], minHealthy: 1, health: health)],
            dependencies: [.init(from: "web", to: "redis", kind: .hard), .init(from: "web", to: "db-primary", kind: .soft)]
        )
    }

    @Test("a complete experiment loads from YAML and from JSON with no diagnostics and the right values", arguments: [
        ("YAML", experimentYAML), ("JSON", experimentJSON),
    ])
    func completeExperiment(form: String, text: String) throws {
        let loaded = Doc.load(text)
        #expect(loaded.diagnostics.map(\.description) == [], "\(form)")
        #expect(loaded.isValid)
        guard case .experiment(let experiment) = try #require(loaded.document) else {
            Issue.record("\(form) did not load as an experiment")
            return
        }
        let expected = try Self.expectedExperiment()
        // Field by field first, so a mismatch says where.
        #expect(experiment.target == expected.target)
        #expect(experiment.fault == expected.fault)
        #expect(experiment.probes == expected.probes)
        #expect(experiment.expect == expected.expect)
        #expect(experiment.stopWhen == expected.stopWhen)
        #expect(experiment.schedule == expected.schedule)
        #expect(experiment.safety == expected.safety)
        #expect(experiment == expected)
    }

    @Test("a complete inventory loads from YAML and from JSON with no diagnostics and the right values", arguments: [
        ("YAML", inventoryYAML), ("JSON", inventoryJSON),
    ])
    func completeInventory(form: String, text: String) throws {
        let loaded = Doc.load(text, expecting: "Inventory")
        #expect(loaded.diagnostics.map(\.description) == [], "\(form)")
        guard case .inventory(let inventory) = try #require(loaded.document) else {
            Issue.record("\(form) did not load as an inventory")
            return
        }
        let expected = Self.expectedInventory()
        #expect(inventory.hosts == expected.hosts)
        #expect(inventory.targets == expected.targets)
        #expect(inventory.groups == expected.groups)
        #expect(inventory.dependencies == expected.dependencies)
        #expect(inventory == expected)
        #expect(inventory.host(named: "10.0.0.12")?.name == "db2")
        #expect(inventory.host(named: "db1")?.address == "10.0.0.11")
        #expect(inventory.target(named: "web")?.host == "web1")
        #expect(inventory.target(named: "nope") == nil)
    }

    @Test("a minimal experiment gets the documented defaults")
    func minimalDefaults() throws {
        let loaded = Doc.load("""
            apiVersion: chaos/v1
            kind: Experiment
            name: pause-web
            target: {process: {name: web}}
            fault: {type: process.pause, duration: 30s}
            probes:
              - {name: web, type: http, url: "http://localhost/", interval: 500ms}
            """)
        #expect(loaded.diagnostics.isEmpty)
        guard case .experiment(let e) = try #require(loaded.document) else { Issue.record("not an experiment"); return }
        #expect(e.fault == FaultSpec(type: .processPause, duration: .seconds(30), with: FaultParameters()))
        #expect(e.target.selection == Selection())
        #expect(e.expect == ExpectSpec())
        #expect(e.safety == SafetySpec())
        #expect(e.schedule == nil)
        #expect(e.stopWhen.isEmpty)
        // Timeout defaults to 1s but never more than the interval.
        #expect(e.probes.first?.timeout == .milliseconds(500))
        #expect(e.probes.first?.interval == .milliseconds(500))
    }

    @Test("a target may be just the name of an inventory target")
    func targetReference() throws {
        let loaded = Doc.load(Doc.experimentHeader + "\ntarget: db-primary\nfault: {type: process.kill}\n")
        #expect(loaded.diagnostics.isEmpty)
        guard case .experiment(let e) = try #require(loaded.document) else { Issue.record("not an experiment"); return }
        #expect(e.target == TargetSpec(ref: "db-primary"))
    }

    @Test("the netem kinds load with the values written")
    func netemValues() throws {
        let loaded = Doc.load(Doc.experimentHeader + """

            target: {host: app1}
            fault:
              type: network.reorder
              duration: 5m
              with: {reorderPercent: "25%", delay: 10ms, jitter: 2ms, interface: eth0}
            """)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        guard case .experiment(let e) = try #require(loaded.document) else { Issue.record("not an experiment"); return }
        var p = FaultParameters()
        p.reorderPercent = 25
        p.delay = .milliseconds(10)
        p.jitter = .milliseconds(2)
        p.interface = "eth0"
        #expect(e.fault == FaultSpec(type: .networkReorder, duration: .seconds(300), with: p))
        // 'direction' left out stays absent: egress is the only direction these kinds have.
        #expect(e.fault.with.direction == nil)

        for (kind, field) in [("network.corrupt", "corruptPercent"), ("network.duplicate", "duplicatePercent")] {
            let text = Doc.experimentHeader + "\ntarget: {}\nfault: {type: \(kind), duration: 1m, with: {\(field): 0.5, interface: eth1, direction: egress}}\n"
            let doc = Doc.load(text)
            guard case .experiment(let x) = try #require(doc.document, "\(doc.diagnostics)") else { continue }
            #expect((x.fault.with.corruptPercent ?? x.fault.with.duplicatePercent) == 0.5)
            #expect(x.fault.with.interface == "eth1")
            #expect(x.fault.with.direction == "egress")
        }
    }

    @Test("each fault kind loads with its parameters", arguments: [
        ("{type: systemd.stop, duration: 1m}", "{process: {unit: nginx.service}}"),
        ("{type: systemd.kill, with: {signal: HUP, who: main}}", "{process: {unit: nginx.service, user: true}}"),
        ("{type: disk.fill, duration: 5m, with: {path: /var/lib/redis, percent: 95}}", "{host: db1}"),
        ("{type: disk.fill, duration: 5m, with: {path: /srv, free: 100MiB}}", "{}"),
        ("{type: stress.cpu, duration: 1m, with: {workers: 2, load: 80%}}", "{}"),
        ("{type: stress.memory, duration: 1m, with: {size: 1GiB}}", "{}"),
        ("{type: network.blackhole, duration: 1m, with: {to: [db2], ports: ['6379', 8000-8100], protocol: tcp, direction: egress}}", "{}"),
        ("{type: network.reject, duration: 1m}", "{}"),
        ("{type: network.loss, duration: 1m, with: {lossPercent: 30, interface: eth0}}", "{}"),
        ("{type: network.delay, duration: 1m, with: {delay: 200ms, jitter: 50ms}}", "{}"),
        ("{type: network.corrupt, duration: 1m, with: {corruptPercent: 2, interface: eth0, direction: egress}}", "{host: db1}"),
        ("{type: network.duplicate, duration: 1m, with: {duplicatePercent: 10%, interface: ens3}}", "{}"),
        ("{type: network.reorder, duration: 1m, with: {reorderPercent: 25, delay: 10ms, jitter: 2ms, interface: eth0}}", "db-primary"),
        ("{type: network.bandwidth, duration: 1m, with: {rate: 1mbit}}", "{}"),
        ("{type: network.partition, duration: 1m, with: {to: [db1], and: [db2, db3], mode: oneway}}", "{}"),
        ("{type: network.dns, duration: 1m, with: {includeControlPort: false}}", "{}"),
    ])
    func everyFaultKind(fault: String, target: String) {
        let text = Doc.experimentHeader + "\ntarget: \(target)\nfault: \(fault)\n"
        #expect(Doc.diagnostics(text) == [], "\(fault)")
        #expect(Doc.load(text).isValid)
    }
}
