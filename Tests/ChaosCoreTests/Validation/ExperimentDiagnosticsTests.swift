import Testing
@testable import ChaosCore

/// Invalid experiments and the exact `FILE:LINE:COLUMN: path: message; hint` lines they produce.
/// Every document starts with `Doc.experimentHeader` (lines 1-3: apiVersion, kind, name), so the first
/// line written below is line 4. Columns are 1-based.
@Suite("Experiment diagnostics")
struct ExperimentDiagnosticsTests {
    static let kindsList = "'process.kill', 'process.pause', 'systemd.stop', 'systemd.kill', 'disk.fill', 'stress.cpu', 'stress.memory', 'network.blackhole', 'network.reject', 'network.loss', 'network.delay', 'network.bandwidth', 'network.partition', 'network.dns'"
    static let durationHint = "use a number with a unit: ms, s, m, h or d, e.g. '500ms', '30s', '2m' or '1h30m'"
    static let selectorHint = "give exactly one of pid, pidfile, name, match, port or unit"
    static let cronHint = "write 'minute hour day-of-month month day-of-week', e.g. '0 10 * * mon-fri'"

    static func experiment(_ body: String) -> String { Doc.experimentHeader + "\n" + body + "\n" }

    static let cases: [InvalidCase] = [
        InvalidCase(title: "an unknown top-level field suggests the close one", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            descripton: typo
            """), diagnostics: ["t.yaml:6:1: descripton: unknown field; did you mean 'description'?"]),

        InvalidCase(title: "an unknown field with nothing close lists the known ones", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill, singal: TERM}
            """), diagnostics: ["t.yaml:5:29: fault.singal: unknown field; known fields here: duration, type, with"]),

        InvalidCase(title: "a parameter that does not belong to the kind is unknown there", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill, with: {signl: TERM}}
            """), diagnostics: ["t.yaml:5:36: fault.with.signl: unknown field; did you mean 'signal'?"]),

        InvalidCase(title: "a missing required field", text: """
            apiVersion: chaos/v1
            kind: Experiment
            target: {process: {name: web}}
            fault: {type: process.kill}
            """, diagnostics: ["t.yaml:1:1: name: is required; add e.g. 'name: kill-db-primary'"]),

        InvalidCase(title: "missing fault and target", text: experiment("description: nothing else"), diagnostics: [
            "t.yaml:1:1: fault: is required; add e.g. 'fault: {type: process.kill}'",
            "t.yaml:1:1: target: is required; add e.g. 'target: db-primary' (an inventory target) or 'target: {process: {name: redis-server}}'",
        ]),

        InvalidCase(title: "a null value counts as missing", text: """
            apiVersion: chaos/v1
            kind: Experiment
            name:
            target: {process: {name: web}}
            fault: {type: process.kill}
            """, diagnostics: ["t.yaml:1:1: name: is required; add e.g. 'name: kill-db-primary'"]),

        InvalidCase(title: "a list where a string belongs", text: """
            apiVersion: chaos/v1
            kind: Experiment
            name: [a, b]
            target: {process: {name: web}}
            fault: {type: process.kill}
            """, diagnostics: ["t.yaml:3:7: name: expected a string, found a list"]),

        InvalidCase(title: "a name that breaks the naming rule", text: """
            apiVersion: chaos/v1
            kind: Experiment
            name: Kill_DB
            target: {process: {name: web}}
            fault: {type: process.kill}
            """, diagnostics: ["t.yaml:3:7: name: 'Kill_DB' is not a valid name; use lowercase letters, digits, '-', '_' and '.', starting with a letter or digit (at most 63)"]),

        InvalidCase(title: "a word where a whole number belongs", text: experiment("""
            target:
              process: {name: web}
              count: three
            fault: {type: process.kill}
            """), diagnostics: ["t.yaml:6:10: target.count: expected a whole number, found 'three'"]),

        InvalidCase(title: "a number out of range", text: experiment("""
            target:
              process: {name: web}
              count: 0
              percent: 150%
            fault: {type: process.kill}
            """), diagnostics: [
                "t.yaml:6:10: target.count: 0 is out of range; use a number from 1 to 100000",
                "t.yaml:7:12: target.percent: 150% is out of range; use a percentage from 0.001 to 100",
            ]),

        InvalidCase(title: "a word where a boolean belongs", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            safety: {dryRun: maybe}
            """), diagnostics: ["t.yaml:6:18: safety.dryRun: expected true or false, found 'maybe'"]),

        InvalidCase(title: "a mapping where a list belongs", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes: {name: web}
            """), diagnostics: ["t.yaml:6:9: probes: expected a list, found a mapping; write it as '[a, b]' or one '- item' per line"]),

        InvalidCase(title: "a duration without a unit", text: experiment("""
            target: {process: {name: web}}
            fault:
              type: process.pause
              duration: 30
            """), diagnostics: ["t.yaml:7:13: fault.duration: duration '30' has no unit; \(durationHint)"]),

        InvalidCase(title: "a duration with an unknown unit", text: experiment("""
            target: {process: {name: web}}
            fault:
              type: process.pause
              duration: 30x
            """), diagnostics: ["t.yaml:7:13: fault.duration: duration '30x' has unknown unit 'x'; \(durationHint)"]),

        InvalidCase(title: "a malformed duration", text: experiment("""
            target: {process: {name: web}}
            fault:
              type: process.pause
              duration: 1m30
            """), diagnostics: ["t.yaml:7:13: fault.duration: duration '1m30' is not a duration; \(durationHint)"]),

        InvalidCase(title: "a duration below the minimum", text: experiment("""
            target: {process: {name: web}}
            fault:
              type: process.pause
              duration: 50ms
            """), diagnostics: ["t.yaml:7:13: fault.duration: '50ms' is shorter than the minimum 100ms; use at least '100ms'"]),

        InvalidCase(title: "an unknown fault type suggests the close one", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kil}
            """), diagnostics: ["t.yaml:5:15: fault.type: 'process.kil' is not allowed; did you mean 'process.kill'? Allowed: \(kindsList)"]),

        InvalidCase(title: "a fault without a type", text: experiment("""
            target: {process: {name: web}}
            fault: {duration: 30s}
            """), diagnostics: ["t.yaml:5:8: fault.type: is required; add e.g. 'type: process.kill'"]),

        InvalidCase(title: "a kill cannot have a duration", text: experiment("""
            target: {process: {name: web}}
            fault:
              type: process.kill
              duration: 30s
            """), diagnostics: ["t.yaml:7:3: fault.duration: process.kill cannot be undone, so it has no duration; remove 'duration'; recovery is measured from the moment of the fault"]),

        InvalidCase(title: "a pause needs a duration", text: experiment("""
            target: {process: {name: web}}
            fault:
              type: process.pause
            """), diagnostics: ["t.yaml:6:3: fault.duration: process.pause is reversible and needs a duration; add e.g. 'duration: 30s'"]),

        InvalidCase(title: "two process selectors", text: experiment("""
            target:
              process:
                name: web
                pid: 42
            fault: {type: process.kill}
            """), diagnostics: ["t.yaml:6:5: target.process: gives more than one way to find the process; \(selectorHint)"]),

        InvalidCase(title: "no process selector, and 'user' without 'unit'", text: experiment("""
            target:
              process: {user: true}
            fault: {type: process.kill}
            """), diagnostics: [
                "t.yaml:5:12: target.process: names no process; \(selectorHint)",
                "t.yaml:5:13: target.process.user: only applies to 'unit'; remove 'user' or select by 'unit'",
            ]),

        InvalidCase(title: "selector values are checked", text: experiment("""
            target:
              process:
                match: "([a-z"
            fault: {type: process.kill}
            """), diagnostics: ["t.yaml:6:12: target.process.match: '([a-z' is not a valid regular expression; check brackets and escapes"]),

        InvalidCase(title: "a process name longer than the kernel keeps", text: experiment("""
            target:
              process: {name: a-very-long-process-name}
            fault: {type: process.kill}
            """), diagnostics: ["t.yaml:5:19: target.process.name: 'a-very-long-process-name' is longer than 15 bytes, and Linux cuts process names at 15; use the first 15 characters 'a-very-long-pro', or 'match' on the command line"]),

        InvalidCase(title: "a unit without its type suffix", text: experiment("""
            target:
              process: {unit: nginx}
            fault: {type: systemd.stop, duration: 1m}
            """), diagnostics: [
                "t.yaml:5:19: target.process.unit: 'nginx' has no unit type suffix; write the full unit name, e.g. 'nginx.service'",
                "t.yaml:5:3: target.process.unit: systemd.stop needs a systemd unit; add e.g. 'process: {unit: redis-server.service}'",
            ]),

        InvalidCase(title: "a host-level fault cannot target processes", text: experiment("""
            target:
              process: {name: web}
            fault:
              type: stress.cpu
              duration: 1m
            """), diagnostics: ["t.yaml:5:3: target.process: stress.cpu acts on the whole host, not on processes; remove 'process' and keep only 'host'"]),

        InvalidCase(title: "a process fault needs processes", text: experiment("""
            target: {host: db1}
            fault: {type: process.kill}
            """), diagnostics: ["t.yaml:4:9: target.process: process.kill needs processes to act on; add e.g. 'process: {name: redis-server}' (pid, pidfile, name, match, port or unit)"]),

        InvalidCase(title: "a systemd fault needs a unit", text: experiment("""
            target:
              process: {name: web}
            fault: {type: systemd.stop, duration: 1m}
            """), diagnostics: ["t.yaml:5:3: target.process.unit: systemd.stop needs a systemd unit; add e.g. 'process: {unit: redis-server.service}'"]),

        InvalidCase(title: "a reference cannot be mixed with an inline target", text: experiment("""
            target: {ref: db-primary, host: db1}
            fault: {type: process.kill}
            """), diagnostics: ["t.yaml:4:9: target: 'ref' names an inventory target, so 'host' and 'process' cannot be given too; either refer to the inventory target or describe the target inline"]),

        InvalidCase(title: "parameters are checked by kind", text: experiment("""
            target: {}
            fault:
              type: network.delay
              duration: 1m
              with: {delay: 10ms, jitter: 20ms, ports: ['70000']}
            """), diagnostics: [
                "t.yaml:8:45: fault.with.ports[0]: '70000' is not a port or port range; use e.g. '6379' or '8000-8100' (1-65535)",
                "t.yaml:8:23: fault.with.jitter: jitter 20ms is larger than the delay 10ms; keep jitter at most the delay",
            ]),

        InvalidCase(title: "a disk fill needs a path and exactly one amount", text: experiment("""
            target: {}
            fault:
              type: disk.fill
              duration: 1m
              with: {percent: 90, size: 1GiB}
            """), diagnostics: [
                "t.yaml:8:9: fault.with.path: is required; add e.g. 'path: /var/lib/redis'",
                "t.yaml:8:9: fault.with: gives more than one of 'percent', 'free' and 'size'; give exactly one: 'percent: 95', 'free: 100MiB' or 'size: 1GiB'",
            ]),

        InvalidCase(title: "a bad signal", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill, with: {signal: SIGFOO}}
            """), diagnostics: ["t.yaml:5:44: fault.with.signal: 'SIGFOO' is not a signal; use a name such as KILL, TERM, INT, HUP or a number 1-64"]),

        InvalidCase(title: "stopWhen names a missing probe that is close to one", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: web, type: tcp, address: "10.0.0.1:80"}
            stopWhen:
              - {probe: wev, availabilityBelow: 50%, for: 10s}
            """), diagnostics: ["t.yaml:9:6: stopWhen[0].probe: no probe is named 'wev'; did you mean 'web'?"]),

        InvalidCase(title: "stopWhen names a missing probe that is close to none", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: web, type: tcp, address: "10.0.0.1:80"}
            stopWhen:
              - {probe: db, availabilityBelow: 50%, for: 10s}
            """), diagnostics: ["t.yaml:9:6: stopWhen[0].probe: no probe is named 'db'; probes here: web"]),

        InvalidCase(title: "stopWhen names a probe when there are none", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            stopWhen:
              - {probe: web, for: 10s}
            """), diagnostics: [
                "t.yaml:7:6: stopWhen[0].probe: no probe is named 'web'; define the probe under 'probes'",
                "t.yaml:7:5: stopWhen[0].availabilityBelow: is required; add e.g. 'availabilityBelow: 50%'",
            ]),

        InvalidCase(title: "two probes with the same name", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: web, type: tcp, address: "a:1"}
              - {name: web, type: tcp, address: "b:2"}
            """), diagnostics: ["t.yaml:8:5: probes[1].name: 'web' is used by another probe; give each probe its own name"]),

        InvalidCase(title: "probe fields are checked by type", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - name: db
                type: tcp
                address: db1
                url: http://x/
            """), diagnostics: [
                "t.yaml:9:14: probes[0].address: 'db1' is not host:port; write e.g. '10.0.0.21:6379' or '[::1]:6379'",
                "t.yaml:10:5: probes[0].url: unknown field; known fields here: address, failureThreshold, interval, name, successThreshold, timeout, tolerance, type",
            ]),

        InvalidCase(title: "a cron with a value out of range", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule:
              cron: "61 * * * *"
            """), diagnostics: ["t.yaml:7:9: schedule.cron: minute 61 is outside 0-59; \(cronHint)"]),

        InvalidCase(title: "a cron with the wrong number of fields", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule:
              cron: "0 10 * *"
            """), diagnostics: ["t.yaml:7:9: schedule.cron: '0 10 * *' has 4 fields; cron needs 5 (minute hour day-of-month month day-of-week); \(cronHint)"]),

        InvalidCase(title: "an unknown time zone", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule:
              cron: "0 10 * * *"
              timezone: Mars/Olympus
            """), diagnostics: ["t.yaml:8:13: schedule.timezone: 'Mars/Olympus' is not an IANA time zone; use a name such as 'UTC', 'Europe/Paris' or 'America/New_York'"]),

        InvalidCase(title: "a schedule with neither cron nor monkey", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule:
              timezone: UTC
            """), diagnostics: [#"t.yaml:7:3: schedule: has neither 'cron' nor 'monkey'; give exactly one: 'cron: "0 10 * * mon-fri"' or 'monkey: {meanWorkdays: 5}'"#]),

        InvalidCase(title: "a schedule with both cron and monkey", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule:
              cron: "0 10 * * *"
              monkey: {meanWorkdays: 2, minWorkdays: 3}
            """), diagnostics: [
                "t.yaml:8:11: schedule.monkey.minWorkdays: is larger than meanWorkdays; keep minWorkdays at most meanWorkdays",
                #"t.yaml:7:3: schedule: gives both 'cron' and 'monkey'; give exactly one: 'cron: "0 10 * * mon-fri"' or 'monkey: {meanWorkdays: 5}'"#,
            ]),

        InvalidCase(title: "bad work days, hours and holidays", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule:
              cron: "0 10 * * *"
              workdays: [mon, tuesday]
              hours: 17:00-09:00
              holidays: [2026-02-30]
            """), diagnostics: [
                "t.yaml:8:19: schedule.workdays[1]: 'tuesday' is not allowed; allowed: 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'",
                "t.yaml:9:10: schedule.hours: '17:00-09:00' is not a time window; write 'HH:MM-HH:MM' with the end after the start, e.g. '09:00-17:00'",
                "t.yaml:10:14: schedule.holidays[0]: '2026-02-30' is not a date; write YYYY-MM-DD, e.g. '2026-12-25'",
            ]),

        InvalidCase(title: "a blackout that ends before it starts", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule:
              cron: "0 10 * * *"
              blackouts:
                - from: 2026-12-20
                  to: 2026-12-10
            """), diagnostics: ["t.yaml:9:7: schedule.blackouts[0].to: ends before it starts; swap 'from' and 'to'"]),

        InvalidCase(title: "a blackout with a bad time", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule:
              cron: "0 10 * * *"
              blackouts:
                - {from: "2026-12-20T25:00", to: 2026-12-21}
            """), diagnostics: ["t.yaml:9:14: schedule.blackouts[0].from: '2026-12-20T25:00' is not a date or date-time; write e.g. '2026-12-20' or '2026-12-20T18:00:00Z'"]),

        InvalidCase(title: "expectations are checked", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            expect:
              availability: {during: 101%}
              maxOutage: soon
            """), diagnostics: [
                "t.yaml:7:26: expect.availability.during: 101% is out of range; use a percentage from 0 to 100",
                "t.yaml:8:14: expect.maxOutage: duration 'soon' is not a duration; \(durationHint)",
            ]),
    ]

    @Test("each invalid experiment gives exactly its diagnostics", arguments: cases)
    func invalid(_ c: InvalidCase) {
        let loaded = Doc.load(c.text, expecting: c.expecting)
        #expect(loaded.diagnostics.map(\.description) == c.diagnostics)
        #expect(loaded.document == nil)
        #expect(!loaded.isValid)
    }

    @Test("positions in JSON are reported like in YAML")
    func jsonPositions() {
        let text = """
            {
              "apiVersion": "chaos/v1",
              "kind": "Experiment",
              "name": "x",
              "target": {"process": {"name": "web"}},
              "fault": {"type": "process.kill", "duration": "30s"}
            }
            """
        #expect(Doc.diagnostics(text) == [
            "t.yaml:6:37: fault.duration: process.kill cannot be undone, so it has no duration; remove 'duration'; recovery is measured from the moment of the fault",
        ])
    }
}
