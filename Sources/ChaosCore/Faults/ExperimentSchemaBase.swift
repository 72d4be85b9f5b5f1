/// The hand-written part of the experiment JSON Schema: everything but the faults (probes, expect,
/// schedule, safety...). ``ExperimentSchema`` adds what the fault descriptors decide: `$defs/fault`,
/// `$defs/with.KIND` and the rules between a fault's subject and its target.
enum ExperimentSchemaBase {
    static let text = #"""
{
  "$defs": {
    "argv": {
      "description": "A command as an argv list; never run through a shell. Quote numbers such as \"26379\" if you like; plain numbers are taken as their text.",
      "examples": [
        [
          "redis-cli",
          "-p",
          "26379",
          "ping"
        ]
      ],
      "items": {
        "pattern": "\\S",
        "title": "a non-empty string",
        "type": [
          "string",
          "number"
        ]
      },
      "minItems": 1,
      "type": "array"
    },
    "duration": {
      "description": "A duration with lowercase units: ms, s, m, h, d, combinable ('500ms', '30s', '2m', '1h30m'); one space may separate a number from its unit ('30 s'). A bare number is invalid.",
      "examples": [
        "30s",
        "500ms",
        "1h30m"
      ],
      "pattern": "^([0-9]+(\\.[0-9]+)? ?(ms|s|m|h|d))+$",
      "title": "a duration such as '30s', '500ms' or '1h30m'",
      "type": "string"
    },
    "expect": {
      "additionalProperties": false,
      "description": "Graceful-degradation criteria: what must hold for the run to pass. Defaults: availability 100/95/100%, maxOutage 10s, recoverWithin 30s.",
      "properties": {
        "availability": {
          "additionalProperties": false,
          "description": "Share of successful observations per phase.",
          "properties": {
            "after": {
              "default": 100,
              "description": "Availability required after recovery. A number or a percentage text such as '95%' (0 to 100).",
              "maximum": 100,
              "minimum": 0,
              "pattern": "^\\s*(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)\\s*%?\\s*$",
              "title": "a percentage such as 95 or '99.9%'",
              "type": [
                "number",
                "string"
              ]
            },
            "before": {
              "default": 100,
              "description": "Availability required in the steady state before the fault. A number or a percentage text such as '95%' (0 to 100).",
              "maximum": 100,
              "minimum": 0,
              "pattern": "^\\s*(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)\\s*%?\\s*$",
              "title": "a percentage such as 95 or '99.9%'",
              "type": [
                "number",
                "string"
              ]
            },
            "during": {
              "default": 95,
              "description": "Availability required while the fault is active. A number or a percentage text such as '95%' (0 to 100).",
              "maximum": 100,
              "minimum": 0,
              "pattern": "^\\s*(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)\\s*%?\\s*$",
              "title": "a percentage such as 95 or '99.9%'",
              "type": [
                "number",
                "string"
              ]
            }
          },
          "type": "object"
        },
        "latency": {
          "additionalProperties": false,
          "description": "Latency bounds during the fault, by percentile.",
          "properties": {
            "p50": {
              "$ref": "#/$defs/duration",
              "description": "p50 latency bound during the fault."
            },
            "p95": {
              "$ref": "#/$defs/duration",
              "description": "p95 latency bound during the fault."
            },
            "p99": {
              "$ref": "#/$defs/duration",
              "description": "p99 latency bound during the fault."
            }
          },
          "type": "object"
        },
        "maxOutage": {
          "$ref": "#/$defs/duration",
          "default": "10s",
          "description": "The longest run of failed observations allowed."
        },
        "recoverWithin": {
          "$ref": "#/$defs/duration",
          "default": "30s",
          "description": "How soon after the revert (or after a kill) the steady state must be back."
        }
      },
      "type": "object"
    },
    "inlineTarget": {
      "additionalProperties": false,
      "dependentSchemas": {
        "ref": {
          "not": {
            "anyOf": [
              {
                "required": [
                  "host"
                ]
              },
              {
                "required": [
                  "process"
                ]
              },
              {
                "required": [
                  "domain"
                ]
              }
            ]
          }
        },
        "host": {
          "not": {
            "required": [
              "domain"
            ]
          }
        }
      },
      "description": "A target described inline (one host, or every host of a failure domain), or a reference to an inventory target with a selection.",
      "properties": {
        "count": {
          "description": "Hit at most this many of the matches (processes, or hosts for host faults). Absent with 'percent' absent: all matches.",
          "maximum": 100000,
          "minimum": 1,
          "type": "integer"
        },
        "domain": {
          "description": "A failure domain of the inventory's hosts (KIND:VALUE, as in their 'domains'): the fault acts on every host in it at once, each through its agent. Excludes 'host' and 'ref'.",
          "examples": [
            "zone:b",
            "rack:r12"
          ],
          "not": {
            "pattern": "^(host|service|instance)[:=]"
          },
          "pattern": "^[a-z0-9][a-z0-9._-]{0,62}[:=][A-Za-z0-9._-]{1,63}$",
          "type": "string"
        },
        "host": {
          "$ref": "#/$defs/text",
          "description": "An inventory host name. Absent: the local host."
        },
        "percent": {
          "description": "Hit this percentage of the matches, rounded up (1% of 3 hits 1). A number or a percentage text such as '95%' (0.001 to 100).",
          "maximum": 100,
          "minimum": 0.001,
          "pattern": "^\\s*(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)\\s*%?\\s*$",
          "title": "a percentage such as 95 or '99.9%'",
          "type": [
            "number",
            "string"
          ]
        },
        "process": {
          "$ref": "#/$defs/processSelector",
          "description": "Which processes (or unit); required by process.* and systemd.* faults, not allowed for the others."
        },
        "random": {
          "default": true,
          "description": "Choose at random (true, the default) or the oldest processes first (false).",
          "type": "boolean"
        },
        "ref": {
          "$ref": "#/$defs/name",
          "description": "A named target of the inventory; excludes 'host' and 'process'."
        }
      },
      "type": "object"
    },
    "name": {
      "description": "A name: lowercase letters, digits, '-', '_' and '.', starting with a letter or digit, at most 63 characters.",
      "examples": [
        "db-primary"
      ],
      "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$",
      "title": "a name (lowercase letters, digits, '-', '_', '.')",
      "type": "string"
    },
    "probe": {
      "$ref": "#/$defs/probeBody",
      "required": [
        "name",
        "type"
      ]
    },
    "probeBody": {
      "allOf": [
        {
          "if": {
            "properties": {
              "type": {
                "const": "http"
              }
            },
            "required": [
              "type"
            ]
          },
          "then": {
            "properties": {
              "body": {
                "description": "The request body.",
                "type": "string"
              },
              "caFile": {
                "$ref": "#/$defs/text",
                "description": "A CA bundle (PEM file) for https."
              },
              "headers": {
                "additionalProperties": {
                  "type": "string"
                },
                "description": "Request headers.",
                "type": "object"
              },
              "insecure": {
                "default": false,
                "description": "Accept any server certificate (https only).",
                "type": "boolean"
              },
              "method": {
                "default": "GET",
                "description": "The HTTP method.",
                "enum": [
                  "GET",
                  "HEAD",
                  "POST",
                  "PUT",
                  "DELETE",
                  "PATCH",
                  "OPTIONS"
                ]
              },
              "tolerance": {
                "$ref": "#/$defs/toleranceHttp"
              },
              "url": {
                "description": "The URL to request; http:// or https://.",
                "examples": [
                  "http://10.0.0.10/healthz"
                ],
                "pattern": "^https?://",
                "title": "a URL starting with http:// or https://",
                "type": "string"
              }
            },
            "required": [
              "url"
            ]
          }
        },
        {
          "if": {
            "properties": {
              "type": {
                "const": "tcp"
              }
            },
            "required": [
              "type"
            ]
          },
          "then": {
            "properties": {
              "address": {
                "description": "host:port to connect to, e.g. '10.0.0.31:6379' or '[::1]:6379'.",
                "pattern": "^.+:0*([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$",
                "title": "a host:port such as '10.0.0.31:6379'",
                "type": "string"
              },
              "tolerance": {
                "$ref": "#/$defs/toleranceTcp"
              }
            },
            "required": [
              "address"
            ]
          }
        },
        {
          "if": {
            "properties": {
              "type": {
                "const": "command"
              }
            },
            "required": [
              "type"
            ]
          },
          "then": {
            "properties": {
              "command": {
                "$ref": "#/$defs/argv",
                "description": "The argv to run; success is exit status 0 unless 'tolerance' says otherwise."
              },
              "tolerance": {
                "$ref": "#/$defs/toleranceCommand"
              }
            },
            "required": [
              "command"
            ]
          }
        },
        {
          "if": {
            "properties": {
              "type": {
                "const": "prometheus"
              }
            },
            "required": [
              "type"
            ]
          },
          "then": {
            "properties": {
              "query": {
                "$ref": "#/$defs/text",
                "description": "An instant PromQL query; its single value is judged by 'tolerance'."
              },
              "tolerance": {
                "$ref": "#/$defs/tolerancePrometheus"
              },
              "url": {
                "description": "The Prometheus base URL, http:// or https://, e.g. 'http://10.0.0.5:9090'.",
                "examples": [
                  "http://10.0.0.5:9090"
                ],
                "pattern": "^https?://",
                "title": "a URL starting with http:// or https://",
                "type": "string"
              }
            },
            "required": [
              "url",
              "query"
            ]
          }
        }
      ],
      "description": "A probe: an observation repeated every 'interval'. Fields beyond the common ones depend on 'type'.",
      "properties": {
        "failureThreshold": {
          "default": 1,
          "description": "Consecutive failures needed to count as down.",
          "maximum": 100,
          "minimum": 1,
          "type": "integer"
        },
        "interval": {
          "$ref": "#/$defs/duration",
          "default": "1s",
          "description": "How often to observe (at least 50ms)."
        },
        "name": {
          "$ref": "#/$defs/name",
          "description": "The probe's name, unique in the file; stopWhen refers to it."
        },
        "successThreshold": {
          "default": 1,
          "description": "Consecutive successes needed to count as up again (against flapping).",
          "maximum": 100,
          "minimum": 1,
          "type": "integer"
        },
        "timeout": {
          "$ref": "#/$defs/duration",
          "default": "1s",
          "description": "How long one observation may take (at least 10ms, at most the interval). Default: 1s or the interval if shorter."
        },
        "type": {
          "description": "The kind of probe.",
          "enum": [
            "http",
            "tcp",
            "command",
            "prometheus"
          ]
        }
      },
      "required": [
        "type"
      ],
      "type": "object",
      "unevaluatedProperties": false
    },
    "processSelector": {
      "additionalProperties": false,
      "dependentRequired": {
        "user": [
          "unit"
        ]
      },
      "description": "Which processes on a host: exactly one of pid, pidfile, name, match, port or unit.",
      "oneOf": [
        {
          "required": [
            "pid"
          ]
        },
        {
          "required": [
            "pidfile"
          ]
        },
        {
          "required": [
            "name"
          ]
        },
        {
          "required": [
            "match"
          ]
        },
        {
          "required": [
            "port"
          ]
        },
        {
          "required": [
            "unit"
          ]
        }
      ],
      "properties": {
        "match": {
          "description": "A regular expression searched in the full command line (arguments joined by spaces).",
          "format": "regex",
          "pattern": "\\S",
          "title": "a non-empty string",
          "type": "string"
        },
        "name": {
          "description": "The exact process name (/proc/PID/comm), at most 15 bytes as Linux cuts it.",
          "examples": [
            "redis-server"
          ],
          "maxLength": 15,
          "pattern": "\\S",
          "title": "a non-empty string",
          "type": "string"
        },
        "pid": {
          "description": "One process id.",
          "maximum": 4194304,
          "minimum": 1,
          "type": "integer"
        },
        "pidfile": {
          "$ref": "#/$defs/text",
          "description": "A file holding a pid on its first line, e.g. '/run/redis/redis-server.pid'."
        },
        "port": {
          "description": "The process listening on this TCP port.",
          "maximum": 65535,
          "minimum": 1,
          "type": "integer"
        },
        "unit": {
          "description": "A systemd unit's processes (its cgroup); the full unit name with its type suffix.",
          "examples": [
            "redis-server.service"
          ],
          "pattern": "\\.",
          "title": "a systemd unit name with its type suffix, such as 'redis-server.service'",
          "type": "string"
        },
        "user": {
          "default": false,
          "description": "With 'unit': ask the calling user's service manager instead of the system one.",
          "type": "boolean"
        }
      },
      "type": "object"
    },
    "safety": {
      "additionalProperties": false,
      "description": "Blast-radius limits and run options.",
      "properties": {
        "allowProtected": {
          "default": false,
          "description": "Allow deny-listed processes and units (sshd, the service manager, the agent).",
          "type": "boolean"
        },
        "dryRun": {
          "default": false,
          "description": "Plan and show the targets, but inject nothing.",
          "type": "boolean"
        },
        "maxCount": {
          "description": "Never hit more than this many processes or hosts at once.",
          "maximum": 100000,
          "minimum": 1,
          "type": "integer"
        },
        "maxPercent": {
          "description": "Never hit more than this percentage of a group. A number or a percentage text such as '95%' (0.001 to 100).",
          "maximum": 100,
          "minimum": 0.001,
          "pattern": "^\\s*(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)\\s*%?\\s*$",
          "title": "a percentage such as 95 or '99.9%'",
          "type": [
            "number",
            "string"
          ]
        }
      },
      "type": "object"
    },
    "schedule": {
      "additionalProperties": false,
      "description": "When the controller runs the experiment: exactly one of 'cron' or 'monkey', inside work days and hours, outside holidays and blackouts.",
      "oneOf": [
        {
          "required": [
            "cron"
          ]
        },
        {
          "required": [
            "monkey"
          ]
        }
      ],
      "properties": {
        "blackouts": {
          "description": "Periods with no runs; a running experiment is halted when one begins.",
          "items": {
            "additionalProperties": false,
            "properties": {
              "from": {
                "description": "Start. A date (YYYY-MM-DD, the start of that day) or date-time (YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]); without an offset, in the schedule's time zone.",
                "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9](:(60|[0-5][0-9])(\\.[0-9]+)?)?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?$",
                "title": "a date or date-time such as '2026-12-20' or '2026-12-20T18:00:00Z'",
                "type": "string"
              },
              "reason": {
                "$ref": "#/$defs/text",
                "description": "Why, for the audit log."
              },
              "to": {
                "description": "End (not before 'from'). A date (YYYY-MM-DD, the start of that day) or date-time (YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]); without an offset, in the schedule's time zone.",
                "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9](:(60|[0-5][0-9])(\\.[0-9]+)?)?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?$",
                "title": "a date or date-time such as '2026-12-20' or '2026-12-20T18:00:00Z'",
                "type": "string"
              }
            },
            "required": [
              "from",
              "to"
            ],
            "type": "object"
          },
          "type": "array"
        },
        "cron": {
          "description": "Five-field cron: 'minute hour day-of-month month day-of-week', or six fields with the seconds first ('*/10 * * * * *'); ranges, steps, lists and names (jan, mon) allowed.",
          "examples": [
            "0 10 * * tue"
          ],
          "pattern": "^[ \\t]*((\\*|(0*([0-9]|[1-5][0-9]))(-(0*([0-9]|[1-5][0-9])))?)(/0*[1-9][0-9]*)?(,(\\*|(0*([0-9]|[1-5][0-9]))(-(0*([0-9]|[1-5][0-9])))?)(/0*[1-9][0-9]*)?)*[ \\t]+)?(\\*|(0*([0-9]|[1-5][0-9]))(-(0*([0-9]|[1-5][0-9])))?)(/0*[1-9][0-9]*)?(,(\\*|(0*([0-9]|[1-5][0-9]))(-(0*([0-9]|[1-5][0-9])))?)(/0*[1-9][0-9]*)?)*[ \\t]+(\\*|(0*([0-9]|1[0-9]|2[0-3]))(-(0*([0-9]|1[0-9]|2[0-3])))?)(/0*[1-9][0-9]*)?(,(\\*|(0*([0-9]|1[0-9]|2[0-3]))(-(0*([0-9]|1[0-9]|2[0-3])))?)(/0*[1-9][0-9]*)?)*[ \\t]+(\\*|(0*([1-9]|[12][0-9]|3[01]))(-(0*([1-9]|[12][0-9]|3[01])))?)(/0*[1-9][0-9]*)?(,(\\*|(0*([1-9]|[12][0-9]|3[01]))(-(0*([1-9]|[12][0-9]|3[01])))?)(/0*[1-9][0-9]*)?)*[ \\t]+(\\*|(0*([1-9]|1[0-2])|jan|Jan|JAN|feb|Feb|FEB|mar|Mar|MAR|apr|Apr|APR|may|May|MAY|jun|Jun|JUN|jul|Jul|JUL|aug|Aug|AUG|sep|Sep|SEP|oct|Oct|OCT|nov|Nov|NOV|dec|Dec|DEC)(-(0*([1-9]|1[0-2])|jan|Jan|JAN|feb|Feb|FEB|mar|Mar|MAR|apr|Apr|APR|may|May|MAY|jun|Jun|JUN|jul|Jul|JUL|aug|Aug|AUG|sep|Sep|SEP|oct|Oct|OCT|nov|Nov|NOV|dec|Dec|DEC))?)(/0*[1-9][0-9]*)?(,(\\*|(0*([1-9]|1[0-2])|jan|Jan|JAN|feb|Feb|FEB|mar|Mar|MAR|apr|Apr|APR|may|May|MAY|jun|Jun|JUN|jul|Jul|JUL|aug|Aug|AUG|sep|Sep|SEP|oct|Oct|OCT|nov|Nov|NOV|dec|Dec|DEC)(-(0*([1-9]|1[0-2])|jan|Jan|JAN|feb|Feb|FEB|mar|Mar|MAR|apr|Apr|APR|may|May|MAY|jun|Jun|JUN|jul|Jul|JUL|aug|Aug|AUG|sep|Sep|SEP|oct|Oct|OCT|nov|Nov|NOV|dec|Dec|DEC))?)(/0*[1-9][0-9]*)?)*[ \\t]+(\\*|(0*[0-7]|sun|Sun|SUN|mon|Mon|MON|tue|Tue|TUE|wed|Wed|WED|thu|Thu|THU|fri|Fri|FRI|sat|Sat|SAT)(-(0*[0-7]|sun|Sun|SUN|mon|Mon|MON|tue|Tue|TUE|wed|Wed|WED|thu|Thu|THU|fri|Fri|FRI|sat|Sat|SAT))?)(/0*[1-9][0-9]*)?(,(\\*|(0*[0-7]|sun|Sun|SUN|mon|Mon|MON|tue|Tue|TUE|wed|Wed|WED|thu|Thu|THU|fri|Fri|FRI|sat|Sat|SAT)(-(0*[0-7]|sun|Sun|SUN|mon|Mon|MON|tue|Tue|TUE|wed|Wed|WED|thu|Thu|THU|fri|Fri|FRI|sat|Sat|SAT))?)(/0*[1-9][0-9]*)?)*[ \\t]*$",
          "title": "a cron expression such as '0 10 * * tue'",
          "type": "string"
        },
        "holidayCalendar": {
          "$ref": "#/$defs/text",
          "description": "An iCalendar (.ics) file of holidays, relative to the experiment file."
        },
        "holidays": {
          "description": "Dates with no runs.",
          "items": {
            "description": "A date, YYYY-MM-DD.",
            "examples": [
              "2026-12-25"
            ],
            "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
            "title": "a date YYYY-MM-DD",
            "type": "string"
          },
          "type": "array"
        },
        "hours": {
          "default": "09:00-17:00",
          "description": "Hours of the day when runs may happen, 'HH:MM-HH:MM' (end after start; 24:00 may end the window, not start it). Quote it in YAML.",
          "pattern": "^\\s*([01]?[0-9]|2[0-3]):[0-5]?[0-9]\\s*-\\s*(([01]?[0-9]|2[0-3]):[0-5]?[0-9]|24:0?0)\\s*$",
          "title": "a time window 'HH:MM-HH:MM' such as '09:00-17:00'",
          "type": "string"
        },
        "minSpacing": {
          "additionalProperties": false,
          "description": "Minimum spacing between runs.",
          "properties": {
            "group": {
              "$ref": "#/$defs/duration",
              "description": "Minimum time between two runs against the same redundancy group."
            },
            "target": {
              "$ref": "#/$defs/duration",
              "description": "Minimum time between two runs against the same target."
            }
          },
          "type": "object"
        },
        "monkey": {
          "additionalProperties": false,
          "description": "Chaos-Monkey random runs on work days, inside 'hours'.",
          "properties": {
            "meanWorkdays": {
              "description": "Mean work days between runs (a run on a work day with probability 1/mean), 1 to 365.",
              "maximum": 365,
              "minimum": 1,
              "type": "number"
            },
            "minWorkdays": {
              "default": 1,
              "description": "Minimum work days between two runs, 0 to 365 (at most meanWorkdays).",
              "maximum": 365,
              "minimum": 0,
              "type": "number"
            }
          },
          "required": [
            "meanWorkdays"
          ],
          "type": "object"
        },
        "timezone": {
          "default": "UTC",
          "description": "IANA time zone of the cron, the work hours and the days.",
          "enum": [
            "Africa/Abidjan",
            "Africa/Accra",
            "Africa/Addis_Ababa",
            "Africa/Algiers",
            "Africa/Asmara",
            "Africa/Asmera",
            "Africa/Bamako",
            "Africa/Bangui",
            "Africa/Banjul",
            "Africa/Bissau",
            "Africa/Blantyre",
            "Africa/Brazzaville",
            "Africa/Bujumbura",
            "Africa/Cairo",
            "Africa/Casablanca",
            "Africa/Ceuta",
            "Africa/Conakry",
            "Africa/Dakar",
            "Africa/Dar_es_Salaam",
            "Africa/Djibouti",
            "Africa/Douala",
            "Africa/El_Aaiun",
            "Africa/Freetown",
            "Africa/Gaborone",
            "Africa/Harare",
            "Africa/Johannesburg",
            "Africa/Juba",
            "Africa/Kampala",
            "Africa/Khartoum",
            "Africa/Kigali",
            "Africa/Kinshasa",
            "Africa/Lagos",
            "Africa/Libreville",
            "Africa/Lome",
            "Africa/Luanda",
            "Africa/Lubumbashi",
            "Africa/Lusaka",
            "Africa/Malabo",
            "Africa/Maputo",
            "Africa/Maseru",
            "Africa/Mbabane",
            "Africa/Mogadishu",
            "Africa/Monrovia",
            "Africa/Nairobi",
            "Africa/Ndjamena",
            "Africa/Niamey",
            "Africa/Nouakchott",
            "Africa/Ouagadougou",
            "Africa/Porto-Novo",
            "Africa/Sao_Tome",
            "Africa/Timbuktu",
            "Africa/Tripoli",
            "Africa/Tunis",
            "Africa/Windhoek",
            "America/Adak",
            "America/Anchorage",
            "America/Anguilla",
            "America/Antigua",
            "America/Araguaina",
            "America/Argentina/Buenos_Aires",
            "America/Argentina/Catamarca",
            "America/Argentina/ComodRivadavia",
            "America/Argentina/Cordoba",
            "America/Argentina/Jujuy",
            "America/Argentina/La_Rioja",
            "America/Argentina/Mendoza",
            "America/Argentina/Rio_Gallegos",
            "America/Argentina/Salta",
            "America/Argentina/San_Juan",
            "America/Argentina/San_Luis",
            "America/Argentina/Tucuman",
            "America/Argentina/Ushuaia",
            "America/Aruba",
            "America/Asuncion",
            "America/Atikokan",
            "America/Atka",
            "America/Bahia",
            "America/Bahia_Banderas",
            "America/Barbados",
            "America/Belem",
            "America/Belize",
            "America/Blanc-Sablon",
            "America/Boa_Vista",
            "America/Bogota",
            "America/Boise",
            "America/Buenos_Aires",
            "America/Cambridge_Bay",
            "America/Campo_Grande",
            "America/Cancun",
            "America/Caracas",
            "America/Catamarca",
            "America/Cayenne",
            "America/Cayman",
            "America/Chicago",
            "America/Chihuahua",
            "America/Ciudad_Juarez",
            "America/Coral_Harbour",
            "America/Cordoba",
            "America/Costa_Rica",
            "America/Coyhaique",
            "America/Creston",
            "America/Cuiaba",
            "America/Curacao",
            "America/Danmarkshavn",
            "America/Dawson",
            "America/Dawson_Creek",
            "America/Denver",
            "America/Detroit",
            "America/Dominica",
            "America/Edmonton",
            "America/Eirunepe",
            "America/El_Salvador",
            "America/Ensenada",
            "America/Fort_Nelson",
            "America/Fort_Wayne",
            "America/Fortaleza",
            "America/Glace_Bay",
            "America/Godthab",
            "America/Goose_Bay",
            "America/Grand_Turk",
            "America/Grenada",
            "America/Guadeloupe",
            "America/Guatemala",
            "America/Guayaquil",
            "America/Guyana",
            "America/Halifax",
            "America/Havana",
            "America/Hermosillo",
            "America/Indiana/Indianapolis",
            "America/Indiana/Knox",
            "America/Indiana/Marengo",
            "America/Indiana/Petersburg",
            "America/Indiana/Tell_City",
            "America/Indiana/Vevay",
            "America/Indiana/Vincennes",
            "America/Indiana/Winamac",
            "America/Indianapolis",
            "America/Inuvik",
            "America/Iqaluit",
            "America/Jamaica",
            "America/Jujuy",
            "America/Juneau",
            "America/Kentucky/Louisville",
            "America/Kentucky/Monticello",
            "America/Knox_IN",
            "America/Kralendijk",
            "America/La_Paz",
            "America/Lima",
            "America/Los_Angeles",
            "America/Louisville",
            "America/Lower_Princes",
            "America/Maceio",
            "America/Managua",
            "America/Manaus",
            "America/Marigot",
            "America/Martinique",
            "America/Matamoros",
            "America/Mazatlan",
            "America/Mendoza",
            "America/Menominee",
            "America/Merida",
            "America/Metlakatla",
            "America/Mexico_City",
            "America/Miquelon",
            "America/Moncton",
            "America/Monterrey",
            "America/Montevideo",
            "America/Montreal",
            "America/Montserrat",
            "America/Nassau",
            "America/New_York",
            "America/Nipigon",
            "America/Nome",
            "America/Noronha",
            "America/North_Dakota/Beulah",
            "America/North_Dakota/Center",
            "America/North_Dakota/New_Salem",
            "America/Nuuk",
            "America/Ojinaga",
            "America/Panama",
            "America/Pangnirtung",
            "America/Paramaribo",
            "America/Phoenix",
            "America/Port-au-Prince",
            "America/Port_of_Spain",
            "America/Porto_Acre",
            "America/Porto_Velho",
            "America/Puerto_Rico",
            "America/Punta_Arenas",
            "America/Rainy_River",
            "America/Rankin_Inlet",
            "America/Recife",
            "America/Regina",
            "America/Resolute",
            "America/Rio_Branco",
            "America/Rosario",
            "America/Santa_Isabel",
            "America/Santarem",
            "America/Santiago",
            "America/Santo_Domingo",
            "America/Sao_Paulo",
            "America/Scoresbysund",
            "America/Shiprock",
            "America/Sitka",
            "America/St_Barthelemy",
            "America/St_Johns",
            "America/St_Kitts",
            "America/St_Lucia",
            "America/St_Thomas",
            "America/St_Vincent",
            "America/Swift_Current",
            "America/Tegucigalpa",
            "America/Thule",
            "America/Thunder_Bay",
            "America/Tijuana",
            "America/Toronto",
            "America/Tortola",
            "America/Vancouver",
            "America/Virgin",
            "America/Whitehorse",
            "America/Winnipeg",
            "America/Yakutat",
            "America/Yellowknife",
            "Antarctica/Casey",
            "Antarctica/Davis",
            "Antarctica/DumontDUrville",
            "Antarctica/Macquarie",
            "Antarctica/Mawson",
            "Antarctica/McMurdo",
            "Antarctica/Palmer",
            "Antarctica/Rothera",
            "Antarctica/South_Pole",
            "Antarctica/Syowa",
            "Antarctica/Troll",
            "Antarctica/Vostok",
            "Arctic/Longyearbyen",
            "Asia/Aden",
            "Asia/Almaty",
            "Asia/Amman",
            "Asia/Anadyr",
            "Asia/Aqtau",
            "Asia/Aqtobe",
            "Asia/Ashgabat",
            "Asia/Ashkhabad",
            "Asia/Atyrau",
            "Asia/Baghdad",
            "Asia/Bahrain",
            "Asia/Baku",
            "Asia/Bangkok",
            "Asia/Barnaul",
            "Asia/Beirut",
            "Asia/Bishkek",
            "Asia/Brunei",
            "Asia/Calcutta",
            "Asia/Chita",
            "Asia/Choibalsan",
            "Asia/Chongqing",
            "Asia/Chungking",
            "Asia/Colombo",
            "Asia/Dacca",
            "Asia/Damascus",
            "Asia/Dhaka",
            "Asia/Dili",
            "Asia/Dubai",
            "Asia/Dushanbe",
            "Asia/Famagusta",
            "Asia/Gaza",
            "Asia/Harbin",
            "Asia/Hebron",
            "Asia/Ho_Chi_Minh",
            "Asia/Hong_Kong",
            "Asia/Hovd",
            "Asia/Irkutsk",
            "Asia/Istanbul",
            "Asia/Jakarta",
            "Asia/Jayapura",
            "Asia/Jerusalem",
            "Asia/Kabul",
            "Asia/Kamchatka",
            "Asia/Karachi",
            "Asia/Kashgar",
            "Asia/Kathmandu",
            "Asia/Katmandu",
            "Asia/Khandyga",
            "Asia/Kolkata",
            "Asia/Krasnoyarsk",
            "Asia/Kuala_Lumpur",
            "Asia/Kuching",
            "Asia/Kuwait",
            "Asia/Macao",
            "Asia/Macau",
            "Asia/Magadan",
            "Asia/Makassar",
            "Asia/Manila",
            "Asia/Muscat",
            "Asia/Nicosia",
            "Asia/Novokuznetsk",
            "Asia/Novosibirsk",
            "Asia/Omsk",
            "Asia/Oral",
            "Asia/Phnom_Penh",
            "Asia/Pontianak",
            "Asia/Pyongyang",
            "Asia/Qatar",
            "Asia/Qostanay",
            "Asia/Qyzylorda",
            "Asia/Rangoon",
            "Asia/Riyadh",
            "Asia/Saigon",
            "Asia/Sakhalin",
            "Asia/Samarkand",
            "Asia/Seoul",
            "Asia/Shanghai",
            "Asia/Singapore",
            "Asia/Srednekolymsk",
            "Asia/Taipei",
            "Asia/Tashkent",
            "Asia/Tbilisi",
            "Asia/Tehran",
            "Asia/Tel_Aviv",
            "Asia/Thimbu",
            "Asia/Thimphu",
            "Asia/Tokyo",
            "Asia/Tomsk",
            "Asia/Ujung_Pandang",
            "Asia/Ulaanbaatar",
            "Asia/Ulan_Bator",
            "Asia/Urumqi",
            "Asia/Ust-Nera",
            "Asia/Vientiane",
            "Asia/Vladivostok",
            "Asia/Yakutsk",
            "Asia/Yangon",
            "Asia/Yekaterinburg",
            "Asia/Yerevan",
            "Atlantic/Azores",
            "Atlantic/Bermuda",
            "Atlantic/Canary",
            "Atlantic/Cape_Verde",
            "Atlantic/Faeroe",
            "Atlantic/Faroe",
            "Atlantic/Jan_Mayen",
            "Atlantic/Madeira",
            "Atlantic/Reykjavik",
            "Atlantic/South_Georgia",
            "Atlantic/St_Helena",
            "Atlantic/Stanley",
            "Australia/ACT",
            "Australia/Adelaide",
            "Australia/Brisbane",
            "Australia/Broken_Hill",
            "Australia/Canberra",
            "Australia/Currie",
            "Australia/Darwin",
            "Australia/Eucla",
            "Australia/Hobart",
            "Australia/LHI",
            "Australia/Lindeman",
            "Australia/Lord_Howe",
            "Australia/Melbourne",
            "Australia/NSW",
            "Australia/North",
            "Australia/Perth",
            "Australia/Queensland",
            "Australia/South",
            "Australia/Sydney",
            "Australia/Tasmania",
            "Australia/Victoria",
            "Australia/West",
            "Australia/Yancowinna",
            "Brazil/Acre",
            "Brazil/DeNoronha",
            "Brazil/East",
            "Brazil/West",
            "CET",
            "CST6CDT",
            "Canada/Atlantic",
            "Canada/Central",
            "Canada/Eastern",
            "Canada/Mountain",
            "Canada/Newfoundland",
            "Canada/Pacific",
            "Canada/Saskatchewan",
            "Canada/Yukon",
            "Chile/Continental",
            "Chile/EasterIsland",
            "Cuba",
            "EET",
            "EST",
            "EST5EDT",
            "Egypt",
            "Eire",
            "Etc/GMT",
            "Etc/GMT+0",
            "Etc/GMT+1",
            "Etc/GMT+10",
            "Etc/GMT+11",
            "Etc/GMT+12",
            "Etc/GMT+2",
            "Etc/GMT+3",
            "Etc/GMT+4",
            "Etc/GMT+5",
            "Etc/GMT+6",
            "Etc/GMT+7",
            "Etc/GMT+8",
            "Etc/GMT+9",
            "Etc/GMT-0",
            "Etc/GMT-1",
            "Etc/GMT-10",
            "Etc/GMT-11",
            "Etc/GMT-12",
            "Etc/GMT-13",
            "Etc/GMT-14",
            "Etc/GMT-2",
            "Etc/GMT-3",
            "Etc/GMT-4",
            "Etc/GMT-5",
            "Etc/GMT-6",
            "Etc/GMT-7",
            "Etc/GMT-8",
            "Etc/GMT-9",
            "Etc/GMT0",
            "Etc/Greenwich",
            "Etc/UCT",
            "Etc/UTC",
            "Etc/Universal",
            "Etc/Zulu",
            "Europe/Amsterdam",
            "Europe/Andorra",
            "Europe/Astrakhan",
            "Europe/Athens",
            "Europe/Belfast",
            "Europe/Belgrade",
            "Europe/Berlin",
            "Europe/Bratislava",
            "Europe/Brussels",
            "Europe/Bucharest",
            "Europe/Budapest",
            "Europe/Busingen",
            "Europe/Chisinau",
            "Europe/Copenhagen",
            "Europe/Dublin",
            "Europe/Gibraltar",
            "Europe/Guernsey",
            "Europe/Helsinki",
            "Europe/Isle_of_Man",
            "Europe/Istanbul",
            "Europe/Jersey",
            "Europe/Kaliningrad",
            "Europe/Kiev",
            "Europe/Kirov",
            "Europe/Kyiv",
            "Europe/Lisbon",
            "Europe/Ljubljana",
            "Europe/London",
            "Europe/Luxembourg",
            "Europe/Madrid",
            "Europe/Malta",
            "Europe/Mariehamn",
            "Europe/Minsk",
            "Europe/Monaco",
            "Europe/Moscow",
            "Europe/Nicosia",
            "Europe/Oslo",
            "Europe/Paris",
            "Europe/Podgorica",
            "Europe/Prague",
            "Europe/Riga",
            "Europe/Rome",
            "Europe/Samara",
            "Europe/San_Marino",
            "Europe/Sarajevo",
            "Europe/Saratov",
            "Europe/Simferopol",
            "Europe/Skopje",
            "Europe/Sofia",
            "Europe/Stockholm",
            "Europe/Tallinn",
            "Europe/Tirane",
            "Europe/Tiraspol",
            "Europe/Ulyanovsk",
            "Europe/Uzhgorod",
            "Europe/Vaduz",
            "Europe/Vatican",
            "Europe/Vienna",
            "Europe/Vilnius",
            "Europe/Volgograd",
            "Europe/Warsaw",
            "Europe/Zagreb",
            "Europe/Zaporozhye",
            "Europe/Zurich",
            "Factory",
            "GB",
            "GB-Eire",
            "GMT",
            "GMT0",
            "Greenwich",
            "HST",
            "Hongkong",
            "Iceland",
            "Indian/Antananarivo",
            "Indian/Chagos",
            "Indian/Christmas",
            "Indian/Cocos",
            "Indian/Comoro",
            "Indian/Kerguelen",
            "Indian/Mahe",
            "Indian/Maldives",
            "Indian/Mauritius",
            "Indian/Mayotte",
            "Indian/Reunion",
            "Iran",
            "Israel",
            "Jamaica",
            "Japan",
            "Kwajalein",
            "Libya",
            "MET",
            "MST",
            "MST7MDT",
            "Mexico/BajaNorte",
            "Mexico/BajaSur",
            "Mexico/General",
            "NZ",
            "NZ-CHAT",
            "Navajo",
            "PRC",
            "PST8PDT",
            "Pacific/Apia",
            "Pacific/Auckland",
            "Pacific/Bougainville",
            "Pacific/Chatham",
            "Pacific/Chuuk",
            "Pacific/Easter",
            "Pacific/Efate",
            "Pacific/Enderbury",
            "Pacific/Fakaofo",
            "Pacific/Fiji",
            "Pacific/Funafuti",
            "Pacific/Galapagos",
            "Pacific/Gambier",
            "Pacific/Guadalcanal",
            "Pacific/Guam",
            "Pacific/Honolulu",
            "Pacific/Johnston",
            "Pacific/Kanton",
            "Pacific/Kiritimati",
            "Pacific/Kosrae",
            "Pacific/Kwajalein",
            "Pacific/Majuro",
            "Pacific/Marquesas",
            "Pacific/Midway",
            "Pacific/Nauru",
            "Pacific/Niue",
            "Pacific/Norfolk",
            "Pacific/Noumea",
            "Pacific/Pago_Pago",
            "Pacific/Palau",
            "Pacific/Pitcairn",
            "Pacific/Pohnpei",
            "Pacific/Ponape",
            "Pacific/Port_Moresby",
            "Pacific/Rarotonga",
            "Pacific/Saipan",
            "Pacific/Samoa",
            "Pacific/Tahiti",
            "Pacific/Tarawa",
            "Pacific/Tongatapu",
            "Pacific/Truk",
            "Pacific/Wake",
            "Pacific/Wallis",
            "Pacific/Yap",
            "Poland",
            "Portugal",
            "ROC",
            "ROK",
            "Singapore",
            "Turkey",
            "UCT",
            "US/Alaska",
            "US/Aleutian",
            "US/Arizona",
            "US/Central",
            "US/East-Indiana",
            "US/Eastern",
            "US/Hawaii",
            "US/Indiana-Starke",
            "US/Michigan",
            "US/Mountain",
            "US/Pacific",
            "US/Samoa",
            "UTC",
            "Universal",
            "W-SU",
            "WET",
            "Zulu"
          ],
          "type": "string"
        },
        "workdays": {
          "default": [
            "mon",
            "tue",
            "wed",
            "thu",
            "fri"
          ],
          "description": "Days on which runs may happen (at least one).",
          "items": {
            "enum": [
              "mon",
              "tue",
              "wed",
              "thu",
              "fri",
              "sat",
              "sun"
            ]
          },
          "minItems": 1,
          "type": "array"
        }
      },
      "type": "object"
    },
    "size": {
      "description": "A size with a unit: B, KiB, MiB, GiB, TiB (powers of 1024) or kB/KB, MB, GB, TB (powers of 1000), e.g. '100MiB'. A bare number is invalid.",
      "examples": [
        "100MiB",
        "1GiB"
      ],
      "pattern": "^[0-9]+(\\.[0-9]+)?\\s*(B|KiB|MiB|GiB|TiB|kB|KB|MB|GB|TB)$",
      "title": "a size such as '100MiB' or '1GiB'",
      "type": "string"
    },
    "stopCondition": {
      "additionalProperties": false,
      "description": "Abort the run and revert at once when this holds.",
      "properties": {
        "availabilityBelow": {
          "description": "Abort when availability drops below this... A number or a percentage text such as '95%' (0.1 to 100).",
          "maximum": 100,
          "minimum": 0.1,
          "pattern": "^\\s*(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)\\s*%?\\s*$",
          "title": "a percentage such as 95 or '99.9%'",
          "type": [
            "number",
            "string"
          ]
        },
        "for": {
          "$ref": "#/$defs/duration",
          "description": "...for this long (at least 100ms)."
        },
        "probe": {
          "$ref": "#/$defs/text",
          "description": "The probe to watch (a name under 'probes'). Absent: any probe."
        }
      },
      "required": [
        "availabilityBelow",
        "for"
      ],
      "type": "object"
    },
    "text": {
      "description": "A non-empty string.",
      "pattern": "\\S",
      "title": "a non-empty string",
      "type": "string"
    },
    "toleranceCommand": {
      "additionalProperties": false,
      "description": "What counts as success for a command probe.",
      "properties": {
        "exitCode": {
          "default": 0,
          "description": "The exit status required.",
          "maximum": 255,
          "minimum": 0,
          "type": "integer"
        },
        "latencyBelow": {
          "$ref": "#/$defs/duration",
          "description": "The command must finish in less than this."
        },
        "stdoutMatches": {
          "description": "A regular expression standard output must contain.",
          "format": "regex",
          "pattern": "\\S",
          "title": "a non-empty string",
          "type": "string"
        }
      },
      "type": "object"
    },
    "toleranceHttp": {
      "additionalProperties": false,
      "dependentRequired": {
        "equals": [
          "jsonPath"
        ],
        "jsonPath": [
          "equals"
        ]
      },
      "description": "What counts as success for an http probe. Every field given must hold.",
      "properties": {
        "bodyMatches": {
          "description": "A regular expression the response body must contain.",
          "format": "regex",
          "pattern": "\\S",
          "title": "a non-empty string",
          "type": "string"
        },
        "equals": {
          "description": "The value 'jsonPath' must equal.",
          "type": [
            "string",
            "number",
            "boolean"
          ]
        },
        "jsonPath": {
          "description": "A JSONPath into the body (starting with '$'); give 'equals' too.",
          "pattern": "^\\$",
          "title": "a JSONPath starting with '$', such as '$.status'",
          "type": "string"
        },
        "latencyBelow": {
          "$ref": "#/$defs/duration",
          "description": "The request must take less than this."
        },
        "status": {
          "anyOf": [
            {
              "anyOf": [
                {
                  "maximum": 599,
                  "minimum": 100,
                  "type": "integer"
                },
                {
                  "pattern": "^\\s*[1-5][0-9]{2}(-[1-5][0-9]{2})?\\s*$",
                  "title": "a status code or range such as 200 or '200-299'",
                  "type": "string"
                }
              ]
            },
            {
              "items": {
                "anyOf": [
                  {
                    "maximum": 599,
                    "minimum": 100,
                    "type": "integer"
                  },
                  {
                    "pattern": "^\\s*[1-5][0-9]{2}(-[1-5][0-9]{2})?\\s*$",
                    "title": "a status code or range such as 200 or '200-299'",
                    "type": "string"
                  }
                ]
              },
              "type": "array"
            }
          ],
          "description": "Accepted statuses: a code, a range '200-299', or a list of them. Default: 200-399.",
          "examples": [
            200,
            "200-299",
            [
              200,
              204
            ]
          ]
        }
      },
      "type": "object"
    },
    "tolerancePrometheus": {
      "additionalProperties": false,
      "description": "What counts as success for a prometheus probe.",
      "properties": {
        "valueAbove": {
          "description": "The query's value must be above this.",
          "type": "number"
        },
        "valueBelow": {
          "description": "The query's value must be below this.",
          "type": "number"
        },
        "valueEquals": {
          "description": "The query's value must equal this.",
          "type": "number"
        }
      },
      "type": "object"
    },
    "toleranceTcp": {
      "additionalProperties": false,
      "description": "What counts as success for a tcp probe (the connection succeeds, and...).",
      "properties": {
        "latencyBelow": {
          "$ref": "#/$defs/duration",
          "description": "The connection must take less than this."
        }
      },
      "type": "object"
    }
  },
  "$id": "urn:chaos:schema:v1:experiment",
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "additionalProperties": false,
  "description": "A hypothesis about resilience, tested by one fault. Reference: docs/formats.md. 'chaos validate' checks a few more rules than this schema (see 'Checked by chaos validate only').",
  "properties": {
    "apiVersion": {
      "const": "chaos/v1",
      "description": "The file format version."
    },
    "description": {
      "description": "What the experiment tests and why; free text.",
      "type": "string"
    },
    "expect": {
      "$ref": "#/$defs/expect"
    },
    "fault": {
      "$ref": "#/$defs/fault"
    },
    "kind": {
      "const": "Experiment",
      "description": "The kind of file."
    },
    "name": {
      "$ref": "#/$defs/name",
      "description": "The experiment's name, unique in its directory."
    },
    "probes": {
      "description": "Observations made before, during and after the fault.",
      "items": {
        "$ref": "#/$defs/probe"
      },
      "type": "array"
    },
    "safety": {
      "$ref": "#/$defs/safety"
    },
    "schedule": {
      "$ref": "#/$defs/schedule"
    },
    "stopWhen": {
      "description": "Abort conditions, checked continuously while the fault is active.",
      "items": {
        "$ref": "#/$defs/stopCondition"
      },
      "type": "array"
    },
    "target": {
      "description": "What to hit: the name of an inventory target, or a mapping (ref or host + process, with count/percent/random).",
      "oneOf": [
        {
          "$ref": "#/$defs/name",
          "description": "The name of an inventory target (all its matches are hit)."
        },
        {
          "$ref": "#/$defs/inlineTarget"
        }
      ]
    },
    "weight": {
      "default": 1,
      "description": "How much the experiment counts in a game day's resilience score, 0.01 to 100. Default: 1.",
      "maximum": 100,
      "minimum": 0.01,
      "type": "number"
    }
  },
  "required": [
    "apiVersion",
    "kind",
    "name",
    "target",
    "fault"
  ],
  "title": "chaos experiment (apiVersion chaos/v1, kind Experiment)",
  "type": "object"
}
"""#
}
