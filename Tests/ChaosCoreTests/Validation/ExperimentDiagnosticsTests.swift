import Testing
@testable import ChaosCore

/// Invalid experiments and the exact `FILE:LINE:COLUMN: path: message; hint` lines they produce.
/// Every document starts with `Doc.experimentHeader` (lines 1-3: apiVersion, kind, name), so the first
/// line written below is line 4. Columns are 1-based.
@Suite("Experiment diagnostics")
struct ExperimentDiagnosticsTests {
    static let kindsList = "'process.kill', 'process.pause', 'process.signal', 'systemd.stop', 'systemd.kill', 'disk.fill', 'stress.cpu', 'stress.memory', 'network.blackhole', 'network.reject', 'network.loss', 'network.delay', 'network.corrupt', 'network.duplicate', 'network.reorder', 'network.bandwidth', 'network.partition', 'network.dns'"
    static let durationHint = "use a number with a unit: ms, s, m, h or d, e.g. '500ms', '30s', '2m' or '1h30m'"
    static let selectorHint = "give exactly one of pid, pidfile, name, match, port or unit"
    static let cronHint = "e.g. '0 10 * * mon-fri' (10:00 on weekdays)"
    static let hoursHint = "write 'HH:MM-HH:MM' with the end after the start (24:00 at the latest), e.g. '09:00-17:00'"
    static let amountHint = "give exactly one: 'percent: 95', 'free: 100MiB' or 'size: 1GiB'"
    static let netemDirectionHint = "write 'direction: egress' (the default) or leave it out; to disturb what this host receives, run the fault on the host that sends"

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

        InvalidCase(title: "a required key with no value is reported at the key", text: """
            apiVersion: chaos/v1
            kind: Experiment
            name:
            target: {process: {name: web}}
            fault: {type: process.kill}
            """, diagnostics: ["t.yaml:3:1: name: is empty; add e.g. 'name: kill-db-primary'"]),

        InvalidCase(title: "a required key written null is reported at the key", text: experiment("""
            target: {process: {name: web}}
            fault: {type: ~}
            """), diagnostics: ["t.yaml:5:9: fault.type: is empty; add e.g. 'type: process.kill'"]),


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
            """), diagnostics: ["t.yaml:7:13: fault.duration: '30' has no unit; \(durationHint)"]),

        InvalidCase(title: "a duration with an unknown unit", text: experiment("""
            target: {process: {name: web}}
            fault:
              type: process.pause
              duration: 30x
            """), diagnostics: ["t.yaml:7:13: fault.duration: '30x' has unknown unit 'x'; \(durationHint)"]),

        InvalidCase(title: "a malformed duration", text: experiment("""
            target: {process: {name: web}}
            fault:
              type: process.pause
              duration: 1m30
            """), diagnostics: ["t.yaml:7:13: fault.duration: '1m30' is not a duration; \(durationHint)"]),

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

        InvalidCase(title: "an unknown fault type leaves its parameters unjudged", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kil, with: {signal: TERM, anything: 1}}
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
            """), diagnostics: ["t.yaml:6:12: target.process.match: '([a-z' is not a valid regular expression: at column 2: unterminated '['; add ']'; check brackets and escapes"]),

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
            """), diagnostics: ["t.yaml:4:9: target: 'ref' names an inventory target, so 'host', 'domain' and 'process' cannot be given too; either refer to the inventory target or describe the target inline"]),

        InvalidCase(title: "parameters are checked by kind", text: experiment("""
            target: {}
            fault:
              type: network.delay
              duration: 1m
              with: {delay: 10ms, jitter: 20ms, ports: ['70000']}
            """), diagnostics: [
                "t.yaml:8:23: fault.with.jitter: jitter 20ms is larger than the delay 10ms; keep jitter at most the delay",
                "t.yaml:8:45: fault.with.ports[0]: '70000' is not a port or port range; use e.g. '6379' or '8000-8100' (1-65535)",
            ]),

        InvalidCase(title: "a disk fill needs a path and exactly one amount", text: experiment("""
            target: {}
            fault:
              type: disk.fill
              duration: 1m
              with: {percent: 90, size: 1GiB}
            """), diagnostics: [
                "t.yaml:8:9: fault.with.path: is required; add e.g. 'path: /var/lib/redis'",
                "t.yaml:8:9: fault.with: gives more than one of 'percent', 'free' and 'size'; \(amountHint)",
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
            """), diagnostics: ["t.yaml:9:13: stopWhen[0].probe: no probe is named 'wev'; did you mean 'web'?"]),

        InvalidCase(title: "stopWhen names a missing probe that is close to none", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: web, type: tcp, address: "10.0.0.1:80"}
            stopWhen:
              - {probe: db, availabilityBelow: 50%, for: 10s}
            """), diagnostics: ["t.yaml:9:13: stopWhen[0].probe: no probe is named 'db'; probes here: 'web'"]),

        InvalidCase(title: "stopWhen names a probe when there are none", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            stopWhen:
              - {probe: web, for: 10s}
            """), diagnostics: [
                "t.yaml:7:5: stopWhen[0].availabilityBelow: is required; add e.g. 'availabilityBelow: 50%'",
                "t.yaml:7:13: stopWhen[0].probe: no probe is named 'web'; define the probe under 'probes'",
            ]),

        InvalidCase(title: "two probes with the same name", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: web, type: tcp, address: "a:1"}
              - {name: web, type: tcp, address: "b:2"}
            """), diagnostics: ["t.yaml:8:12: probes[1].name: 'web' is used by another probe; give each probe its own name"]),

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
            """), diagnostics: ["t.yaml:7:9: schedule.cron: '0 10 * *' has 4 fields; cron needs 5 (minute hour day-of-month month day-of-week), or 6 with the seconds first; \(cronHint)"]),

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
                #"t.yaml:7:3: schedule: gives both 'cron' and 'monkey'; give exactly one: 'cron: "0 10 * * mon-fri"' or 'monkey: {meanWorkdays: 5}'"#,
                "t.yaml:8:11: schedule.monkey.minWorkdays: is larger than meanWorkdays; keep minWorkdays at most meanWorkdays",
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
                "t.yaml:9:10: schedule.hours: '17:00-09:00' is not a time window; \(hoursHint)",
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
            """), diagnostics: ["t.yaml:10:11: schedule.blackouts[0].to: ends before it starts; swap 'from' and 'to'"]),

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
                "t.yaml:8:14: expect.maxOutage: 'soon' is not a duration; \(durationHint)",
            ]),

        // A missing 'with' still leaves the kind's required parameters missing.
        InvalidCase(title: "a disk fill without 'with'", text: experiment("""
            target: {}
            fault: {type: disk.fill, duration: 5m}
            """), diagnostics: [
                "t.yaml:5:8: fault.with.path: is required; add e.g. 'path: /var/lib/redis'",
                "t.yaml:5:8: fault.with: says nothing about how much to fill; \(amountHint)",
            ]),
        InvalidCase(title: "a memory stress without 'with'", text: experiment("""
            target: {}
            fault: {type: stress.memory, duration: 5m}
            """), diagnostics: ["t.yaml:5:8: fault.with.size: is required; add e.g. 'size: 1GiB'"]),
        InvalidCase(title: "a packet loss with 'with' written empty", text: experiment("""
            target: {}
            fault: {type: network.loss, duration: 5m, with: }
            """), diagnostics: ["t.yaml:5:8: fault.with.lossPercent: is required; add e.g. 'lossPercent: 30'"]),
        InvalidCase(title: "a delay without 'with'", text: experiment("""
            target: {}
            fault: {type: network.delay, duration: 5m}
            """), diagnostics: ["t.yaml:5:8: fault.with.delay: is required; add e.g. 'delay: 200ms'"]),
        InvalidCase(title: "a bandwidth limit without 'with'", text: experiment("""
            target: {}
            fault: {type: network.bandwidth, duration: 5m}
            """), diagnostics: ["t.yaml:5:8: fault.with.rate: is required; add e.g. 'rate: 1mbit'"]),
        InvalidCase(title: "a partition without 'with'", text: experiment("""
            target: {}
            fault: {type: network.partition, duration: 5m}
            """), diagnostics: [
                "t.yaml:5:8: fault.with.to: is required: one side of the partition; add e.g. 'to: [db1]'",
                "t.yaml:5:8: fault.with.and: is required: the other side of the partition; add e.g. 'and: [db2, db3]'",
            ]),

        // A value that is wrong is reported once, where it is, and not again as missing.
        InvalidCase(title: "a size with a wrong unit is not also missing", text: experiment("""
            target: {}
            fault: {type: stress.memory, duration: 5m, with: {size: 2G}}
            """), diagnostics: ["t.yaml:5:57: fault.with.size: '2G' has unknown unit 'G'; use a number with a unit: B, KiB, MiB, GiB, TiB (or kB, MB, GB, TB), e.g. '100MiB'"]),
        InvalidCase(title: "a percentage out of range still counts as the amount", text: experiment("""
            target: {}
            fault: {type: disk.fill, duration: 5m, with: {path: /srv, percent: 120}}
            """), diagnostics: ["t.yaml:5:68: fault.with.percent: 120% is out of range; use a percentage from 1 to 100"]),
        InvalidCase(title: "a loss, delay, rate and sides that are wrong are not also missing", text: experiment("""
            target: {}
            fault: {type: network.partition, duration: 5m, with: {to: db1, and: []}}
            """), diagnostics: [
                "t.yaml:5:59: fault.with.to: expected a list, found a string; write it as '[a, b]' or one '- item' per line",
                "t.yaml:5:69: fault.with.and: must not be empty",
            ]),
        InvalidCase(title: "a process written as a string is not also missing", text: experiment("""
            target: {process: redis-server}
            fault: {type: process.kill}
            """), diagnostics: ["t.yaml:4:19: target.process: expected a mapping (key: value pairs), found a string"]),
        InvalidCase(title: "a bad reference is not also an inline target without processes", text: experiment("""
            target: {ref: Bad_Ref}
            fault: {type: process.kill}
            """), diagnostics: ["t.yaml:4:15: target.ref: 'Bad_Ref' is not a valid name; use lowercase letters, digits, '-', '_' and '.', starting with a letter or digit (at most 63)"]),
        InvalidCase(title: "a percentage that is not a number is quoted as written", text: experiment("""
            target: {process: {name: web}, percent: abc%}
            fault: {type: process.kill}
            """), diagnostics: ["t.yaml:4:41: target.percent: 'abc%' is not a percentage; write e.g. '95%' or '99.9%'"]),
        InvalidCase(title: "a size too large says so", text: experiment("""
            target: {}
            fault: {type: stress.memory, duration: 5m, with: {size: 10000000TiB}}
            """), diagnostics: ["t.yaml:5:57: fault.with.size: '10000000TiB' is too large; use a size below 8 EiB, e.g. '100GiB'"]),
        InvalidCase(title: "a duration unit in upper case suggests the lowercase one", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.pause, duration: 30S}
            """), diagnostics: ["t.yaml:5:40: fault.duration: '30S' has unknown unit 'S'; did you mean '30s'? Units are lowercase: ms, s, m, h or d"]),
        InvalidCase(title: "a kind without parameters says so about a parameter", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.pause, duration: 10s, with: {signal: STOP}}
            """), diagnostics: ["t.yaml:5:52: fault.with.signal: unknown field; process.pause takes no parameters under 'with'; remove it"]),

        // The packet kinds (netem or the packet engine): their own parameter is required; they take the
        // traffic filters and any direction.
        InvalidCase(title: "a corruption without 'with'", text: experiment("""
            target: {}
            fault: {type: network.corrupt, duration: 5m}
            """), diagnostics: [
                "t.yaml:5:8: fault.with.corruptPercent: is required; add e.g. 'corruptPercent: 5'",
            ]),
        InvalidCase(title: "a corruption without its share of packets", text: experiment("""
            target: {}
            fault: {type: network.corrupt, duration: 5m, with: {interface: eth0, direction: egress}}
            """), diagnostics: ["t.yaml:5:52: fault.with.corruptPercent: is required; add e.g. 'corruptPercent: 5'"]),
        InvalidCase(title: "a duplication to something that is neither a host nor an address", text: experiment("""
            target: {}
            fault:
              type: network.duplicate
              duration: 5m
              with:
                duplicatePercent: 10
                to: ["10.0.0.1; reboot"]
            """), diagnostics: [
                "t.yaml:10:10: fault.with.to[0]: '10.0.0.1; reboot' is not a host name, address or CIDR; use an inventory host name (db1), an address (10.0.0.5, fd00::5) or a CIDR (10.0.1.0/24)",
            ]),
        InvalidCase(title: "a duplication without its share of packets", text: experiment("""
            target: {}
            fault: {type: network.duplicate, duration: 5m, with: {interface: eth0}}
            """), diagnostics: ["t.yaml:5:54: fault.with.duplicatePercent: is required; add e.g. 'duplicatePercent: 10'"]),
        InvalidCase(title: "a reordering without its share of packets", text: experiment("""
            target: {}
            fault: {type: network.reorder, duration: 5m, with: {delay: 10ms, interface: eth0}}
            """), diagnostics: ["t.yaml:5:52: fault.with.reorderPercent: is required; add e.g. 'reorderPercent: 25'"]),
        InvalidCase(title: "a reordering without the delay that lets packets overtake", text: experiment("""
            target: {}
            fault: {type: network.reorder, duration: 5m, with: {reorderPercent: 25, jitter: 2ms, interface: eth0}}
            """), diagnostics: [
                "t.yaml:5:52: fault.with.delay: is required: the wait of the packets that are not sent at once; add e.g. 'delay: 10ms'",
            ]),
        InvalidCase(title: "a reordering without 'with' misses both", text: experiment("""
            target: {}
            fault: {type: network.reorder, duration: 5m}
            """), diagnostics: [
                "t.yaml:5:8: fault.with.reorderPercent: is required; add e.g. 'reorderPercent: 25'",
                "t.yaml:5:8: fault.with.delay: is required: the wait of the packets that are not sent at once; add e.g. 'delay: 10ms'",
            ]),
        InvalidCase(title: "a corruption with a direction that does not exist", text: experiment("""
            target: {}
            fault: {type: network.corrupt, duration: 5m, with: {corruptPercent: 5, direction: inbound}}
            """), diagnostics: [
                "t.yaml:5:83: fault.with.direction: 'inbound' is not allowed; allowed: 'egress', 'ingress', 'both'",
            ]),
        InvalidCase(title: "a duplication with a protocol that does not exist", text: experiment("""
            target: {}
            fault: {type: network.duplicate, duration: 5m, with: {duplicatePercent: 5, protocol: sctp}}
            """), diagnostics: [
                "t.yaml:5:86: fault.with.protocol: 'sctp' is not allowed; allowed: 'tcp', 'udp', 'icmp', 'all'",
            ]),
        InvalidCase(title: "a reordering whose jitter is larger than its delay", text: experiment("""
            target: {}
            fault:
              type: network.reorder
              duration: 5m
              with: {reorderPercent: 25, delay: 10ms, jitter: 20ms, direction: "ingress"}
            """), diagnostics: [
                "t.yaml:8:43: fault.with.jitter: jitter 20ms is larger than the delay 10ms; keep jitter at most the delay",
            ]),
        InvalidCase(title: "a misspelt egress on a packet kind suggests egress", text: experiment("""
            target: {}
            fault: {type: network.reorder, duration: 5m, with: {reorderPercent: 25, delay: 10ms, interface: eth0, direction: egres}}
            """), diagnostics: [
                "t.yaml:5:114: fault.with.direction: 'egres' is not allowed; did you mean 'egress'? Allowed: 'egress', 'ingress', 'both'",
            ]),
        InvalidCase(title: "another kind's parameter is unknown on the packet kinds", text: experiment("""
            target: {}
            fault:
              type: network.corrupt
              duration: 5m
              with: {lossPercent: 5, interface: eth0}
            """), diagnostics: [
                "t.yaml:8:9: fault.with.corruptPercent: is required; add e.g. 'corruptPercent: 5'",
                "t.yaml:8:10: fault.with.lossPercent: unknown field; known fields here: corruptPercent, direction, includeControlPort, interface, ports, protocol, to",
            ]),
        InvalidCase(title: "a misspelt netem parameter suggests the right one, which is then missing", text: experiment("""
            target: {}
            fault: {type: network.duplicate, duration: 5m, with: {duplicatePercnt: 10, interface: eth0}}
            """), diagnostics: [
                "t.yaml:5:54: fault.with.duplicatePercent: is required; add e.g. 'duplicatePercent: 10'",
                "t.yaml:5:55: fault.with.duplicatePercnt: unknown field; did you mean 'duplicatePercent'?",
            ]),
        InvalidCase(title: "a rate is unknown on a reordering", text: experiment("""
            target: {}
            fault: {type: network.reorder, duration: 5m, with: {reorderPercent: 25, delay: 10ms, interface: eth0, rate: 1mbit}}
            """), diagnostics: [
                "t.yaml:5:103: fault.with.rate: unknown field; known fields here: delay, direction, includeControlPort, interface, jitter, ports, protocol, reorderPercent, to",
            ]),
        InvalidCase(title: "a packet kind's port range must go up", text: experiment("""
            target: {}
            fault:
              type: network.duplicate
              duration: 5m
              with: {duplicatePercent: 10, to: [app1], ports: ["9000-8000"], protocol: tcp, includeControlPort: true}
            """), diagnostics: [
                "t.yaml:8:52: fault.with.ports[0]: '9000-8000' is not a port or port range; use e.g. '6379' or '8000-8100' (1-65535)",
            ]),
        InvalidCase(title: "netem shares out of range are not also missing", text: experiment("""
            target: {}
            fault: {type: network.corrupt, duration: 5m, with: {corruptPercent: 0.05, interface: eth0}}
            probes: []
            """), diagnostics: ["t.yaml:5:69: fault.with.corruptPercent: 0.05% is out of range; use a percentage from 0.1 to 100"]),
        InvalidCase(title: "a reordering with more jitter than delay", text: experiment("""
            target: {}
            fault: {type: network.reorder, duration: 5m, with: {reorderPercent: 25%, delay: 5ms, jitter: 8ms, interface: eth0}}
            """), diagnostics: ["t.yaml:5:86: fault.with.jitter: jitter 8ms is larger than the delay 5ms; keep jitter at most the delay"]),
        InvalidCase(title: "a netem kind acts on the host, not on processes", text: experiment("""
            target: {host: db1, process: {name: redis-server}}
            fault: {type: network.duplicate, duration: 5m, with: {duplicatePercent: 10, interface: eth0}}
            """), diagnostics: [
                "t.yaml:4:21: target.process: network.duplicate acts on the whole host, not on processes; remove 'process' and keep only 'host'",
            ]),
        InvalidCase(title: "a netem kind is reversible and needs a duration", text: experiment("""
            target: {}
            fault: {type: network.corrupt, with: {corruptPercent: 1, interface: eth0}}
            """), diagnostics: ["t.yaml:5:8: fault.duration: network.corrupt is reversible and needs a duration; add e.g. 'duration: 30s'"]),

        // Probes.
        InvalidCase(title: "a misspelt probe type reports the type only", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: web, type: htp, url: "http://x/", tolerance: {status: 200}}
            """), diagnostics: ["t.yaml:7:23: probes[0].type: 'htp' is not allowed; did you mean 'http'? Allowed: 'http', 'tcp', 'command', 'prometheus'"]),
        InvalidCase(title: "a bad interval is not compared with the timeout", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: web, type: http, url: "http://x/", interval: 1x, timeout: 2s}
            """), diagnostics: ["t.yaml:7:57: probes[0].interval: '1x' has unknown unit 'x'; \(durationHint)"]),
        InvalidCase(title: "a single HTTP status that is out of range quotes it", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: web, type: http, url: "http://x/", tolerance: {status: 700}}
            """), diagnostics: ["t.yaml:7:67: probes[0].tolerance.status: '700' is not an HTTP status or range; use e.g. 200, '200-299' or [200, 204] (100-599)"]),
        InvalidCase(title: "a Prometheus URL must be http or https", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: up, type: prometheus, url: "10.0.0.5:9090", query: up}
            """), diagnostics: ["t.yaml:7:39: probes[0].url: '10.0.0.5:9090' is not an http or https URL; start it with 'http://' or 'https://'"]),
        InvalidCase(title: "signs are not numbers in ports, statuses and addresses", text: experiment("""
            target: {}
            fault: {type: network.reject, duration: 1m, with: {ports: ["+80"]}}
            probes:
              - {name: db, type: tcp, address: "db1:+6379"}
              - {name: web, type: http, url: "http://x/", tolerance: {status: ["+200"]}}
            """), diagnostics: [
                "t.yaml:5:60: fault.with.ports[0]: '+80' is not a port or port range; use e.g. '6379' or '8000-8100' (1-65535)",
                "t.yaml:7:36: probes[0].address: 'db1:+6379' is not host:port; write e.g. '10.0.0.21:6379' or '[::1]:6379'",
                "t.yaml:8:68: probes[1].tolerance.status[0]: '+200' is not an HTTP status or range; use e.g. 200 or '200-299' (100-599)",
            ]),
        InvalidCase(title: "a duplicate probe name is reported at the name, even after a broken probe", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            probes:
              - {name: web, type: tcpp}
              - {name: db, type: tcp, address: "db1:6379"}
              - name: web
                type: tcp
                address: "db1:80"
            """), diagnostics: [
                "t.yaml:7:23: probes[0].type: 'tcpp' is not allowed; did you mean 'tcp'? Allowed: 'http', 'tcp', 'command', 'prometheus'",
                "t.yaml:9:11: probes[2].name: 'web' is used by another probe; give each probe its own name",
            ]),

        // Schedules.
        InvalidCase(title: "a misspelt time zone suggests the IANA name", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule: {cron: "0 10 * * *", timezone: Europe/Pariss}
            """), diagnostics: ["t.yaml:6:42: schedule.timezone: 'Europe/Pariss' is not an IANA time zone; did you mean 'Europe/Paris'?"]),
        InvalidCase(title: "an offset is not a time zone name", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule: {cron: "0 10 * * *", timezone: GMT+1}
            """), diagnostics: ["t.yaml:6:42: schedule.timezone: 'GMT+1' is not an IANA time zone; use a name such as 'UTC', 'Europe/Paris' or 'America/New_York'"]),
        InvalidCase(title: "time windows with a stray '-' or starting at 24:00", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule: {cron: "0 10 * * *", hours: "-09:00-17:00"}
            """), diagnostics: ["t.yaml:6:39: schedule.hours: '-09:00-17:00' is not a time window; \(hoursHint)"]),
        InvalidCase(title: "no work days at all", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule: {cron: "0 10 * * *", workdays: []}
            """), diagnostics: ["t.yaml:6:42: schedule.workdays: must not be empty; list the days runs may happen on, e.g. '[mon, tue, wed, thu, fri]'"]),
        InvalidCase(title: "dates with signs or a dangling T", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule:
              cron: "0 10 * * *"
              holidays: ["2026-+1-01"]
              blackouts: [{from: "2026-12-20T", to: 2026-12-21}]
            """), diagnostics: [
                "t.yaml:8:14: schedule.holidays[0]: '2026-+1-01' is not a date; write YYYY-MM-DD, e.g. '2026-12-25'",
                "t.yaml:9:22: schedule.blackouts[0].from: '2026-12-20T' is not a date or date-time; write e.g. '2026-12-20' or '2026-12-20T18:00:00Z'",
            ]),
        InvalidCase(title: "a cron error has an example as its hint", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule: {cron: "0 10 * * fri-mon"}
            """), diagnostics: ["t.yaml:6:18: schedule.cron: day-of-week range 'fri-mon' runs backwards; \(cronHint)"]),
    ]

    /// Near misses of the cases above that are valid.
    static let validCases: [InvalidCase] = [
        InvalidCase(title: "an optional key with no value counts as absent", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            description:
            probes:
            """), diagnostics: []),
        InvalidCase(title: "a space between a duration and its unit is fine", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.pause, duration: 30 s}
            """), diagnostics: []),
        InvalidCase(title: "a time window may end at 24:00", text: experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule: {cron: "0 10 * * *", hours: "18:00-24:00"}
            """), diagnostics: []),
        InvalidCase(title: "the netem kinds take egress, written or left out", text: experiment("""
            target: {host: db1}
            fault: {type: network.corrupt, duration: 5m, with: {corruptPercent: "0.1%", interface: eth0, direction: egress}}
            """), diagnostics: []),
        InvalidCase(title: "a reordering's jitter may equal its delay", text: experiment("""
            target: {}
            fault: {type: network.reorder, duration: 5m, with: {reorderPercent: 100, delay: 5ms, jitter: 5ms, interface: eth0}}
            """), diagnostics: []),
    ]

    @Test("each near miss loads with no diagnostics", arguments: validCases)
    func valid(_ c: InvalidCase) {
        let loaded = Doc.load(c.text)
        #expect(loaded.diagnostics.map(\.description) == [])
        #expect(loaded.isValid)
    }

    @Test("each invalid experiment gives exactly its diagnostics", arguments: cases)
    func invalid(_ c: InvalidCase) {
        let loaded = Doc.load(c.text, expecting: c.expecting)
        #expect(loaded.diagnostics.map(\.description) == c.diagnostics)
        #expect(loaded.document == nil)
        #expect(!loaded.isValid)
    }

    static func schedule(_ blackout: String, timezone: String = "UTC") -> String {
        experiment("""
            target: {process: {name: web}}
            fault: {type: process.kill}
            schedule:
              cron: "0 10 * * *"
              timezone: \(timezone)
              blackouts:
                - \(blackout)
            """)
    }

    @Test("blackout order is judged by instants, not by comparing the texts")
    func blackoutOrderByInstant() {
        let toDiagnostic = { (column: Int) in "t.yaml:10:\(column): schedule.blackouts[0].to: ends before it starts; swap 'from' and 'to'" }
        // 10:00+05:00 is 05:00Z, before 09:00Z: a valid four-hour blackout although its text sorts later.
        #expect(Doc.diagnostics(Self.schedule(#"{from: "2026-12-20T10:00:00+05:00", to: "2026-12-20T09:00:00+00:00"}"#)) == [])
        // A date is compared with a date-time: the 21st at midnight is after noon on the 20th.
        #expect(Doc.diagnostics(Self.schedule(#"{from: 2026-12-21, to: "2026-12-20T12:00:00Z"}"#)) == [toDiagnostic(30)])
        #expect(Doc.diagnostics(Self.schedule(#"{from: "2026-12-20T12:00:00Z", to: 2026-12-21}"#)) == [])
        // A date alone is midnight in the schedule's time zone: in Tokyo (UTC+9) the 21st begins at 15:00Z on the 20th.
        #expect(Doc.diagnostics(Self.schedule(#"{from: "2026-12-20T16:00:00Z", to: 2026-12-21}"#, timezone: "Asia/Tokyo")) == [toDiagnostic(42)])
        #expect(Doc.diagnostics(Self.schedule(#"{from: "2026-12-20T16:00:00Z", to: 2026-12-21}"#)) == [])
        // Same-format stamps.
        #expect(Doc.diagnostics(Self.schedule("{from: 2026-12-20, to: 2026-12-10}")) == [toDiagnostic(30)])
        #expect(Doc.diagnostics(Self.schedule("{from: 2026-12-10, to: 2026-12-20}")) == [])
        #expect(Doc.diagnostics(Self.schedule("{from: 2026-12-10, to: 2026-12-10}")) == [])
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
