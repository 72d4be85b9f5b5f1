/// The JSON Schemas written by hand (the experiment's is generated from the fault descriptors, see
/// ExperimentSchema): printed by `chaos schema inventory|controller-config|agent-config`. The copies
/// in docs/schema/ are what editors load; a test keeps the two the same.
enum WrittenSchemas {
    static let inventory = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:chaos:schema:v1:inventory",
  "title": "chaos inventory (apiVersion chaos/v1, kind Inventory)",
  "description": "The hosts of a cluster, named targets, redundancy groups and dependencies. Reference: docs/formats.md. 'chaos validate' also checks every name reference.",
  "type": "object",
  "additionalProperties": false,
  "required": ["apiVersion", "kind", "hosts"],
  "properties": {
    "apiVersion": {
      "description": "The file format version.",
      "const": "chaos/v1"
    },
    "kind": {
      "description": "The kind of file.",
      "const": "Inventory"
    },
    "hosts": {
      "description": "The machines, each with an agent.",
      "type": "array",
      "items": {
        "$ref": "#/$defs/host"
      }
    },
    "targets": {
      "description": "Named targets experiments refer to.",
      "type": "array",
      "items": {
        "$ref": "#/$defs/target"
      }
    },
    "groups": {
      "description": "Redundancy groups with minHealthy.",
      "type": "array",
      "items": {
        "$ref": "#/$defs/group"
      }
    },
    "dependencies": {
      "description": "Dependencies between hosts, targets and groups.",
      "type": "array",
      "items": {
        "$ref": "#/$defs/dependency"
      }
    },
    "services": {
      "description": "The architecture map for SPOF analysis (chaos spof analyze): services, their instances, entry points.",
      "type": "array",
      "items": {
        "$ref": "#/$defs/service"
      }
    }
  },
  "$defs": {
    "name": {
      "title": "a name (lowercase letters, digits, '-', '_', '.')",
      "description": "A name: lowercase letters, digits, '-', '_' and '.', starting with a letter or digit, at most 63 characters.",
      "type": "string",
      "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$",
      "examples": ["db-primary"]
    },
    "text": {
      "title": "a non-empty string",
      "description": "A non-empty string.",
      "type": "string",
      "pattern": "\\S"
    },
    "duration": {
      "title": "a duration such as '30s', '500ms' or '1h30m'",
      "description": "A duration with lowercase units: ms, s, m, h, d, combinable ('500ms', '30s', '2m', '1h30m'); one space may separate a number from its unit ('30 s'). A bare number is invalid.",
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)? ?(ms|s|m|h|d))+$",
      "examples": ["30s", "500ms", "1h30m"]
    },
    "argv": {
      "description": "A command as an argv list; never run through a shell. Quote numbers such as \"26379\" if you like; plain numbers are taken as their text.",
      "type": "array",
      "minItems": 1,
      "items": {
        "title": "a non-empty string",
        "type": ["string", "number"],
        "pattern": "\\S"
      },
      "examples": [
        ["redis-cli", "-p", "26379", "ping"]
      ]
    },
    "processSelector": {
      "description": "Which processes on a host: exactly one of pid, pidfile, name, match, port or unit.",
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "pid": {
          "description": "One process id.",
          "type": "integer",
          "minimum": 1,
          "maximum": 4194304
        },
        "pidfile": {
          "description": "A file holding a pid on its first line, e.g. '/run/redis/redis-server.pid'.",
          "$ref": "#/$defs/text"
        },
        "name": {
          "title": "a non-empty string",
          "description": "The exact process name (/proc/PID/comm), at most 15 bytes as Linux cuts it.",
          "type": "string",
          "pattern": "\\S",
          "maxLength": 15,
          "examples": ["redis-server"]
        },
        "match": {
          "title": "a non-empty string",
          "description": "A regular expression searched in the full command line (arguments joined by spaces).",
          "type": "string",
          "pattern": "\\S",
          "format": "regex"
        },
        "port": {
          "description": "The process listening on this TCP port.",
          "type": "integer",
          "minimum": 1,
          "maximum": 65535
        },
        "unit": {
          "title": "a systemd unit name with its type suffix, such as 'redis-server.service'",
          "description": "A systemd unit's processes (its cgroup); the full unit name with its type suffix.",
          "type": "string",
          "pattern": "\\.",
          "examples": ["redis-server.service"]
        },
        "user": {
          "description": "With 'unit': ask the calling user's service manager instead of the system one.",
          "type": "boolean",
          "default": false
        }
      },
      "oneOf": [
        {
          "required": ["pid"]
        },
        {
          "required": ["pidfile"]
        },
        {
          "required": ["name"]
        },
        {
          "required": ["match"]
        },
        {
          "required": ["port"]
        },
        {
          "required": ["unit"]
        }
      ],
      "dependentRequired": {
        "user": ["unit"]
      }
    },
    "toleranceHttp": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "status": {
          "description": "Accepted statuses: a code, a range '200-299', or a list of them. Default: 200-399.",
          "anyOf": [
            {
              "anyOf": [
                {
                  "type": "integer",
                  "minimum": 100,
                  "maximum": 599
                },
                {
                  "title": "a status code or range such as 200 or '200-299'",
                  "type": "string",
                  "pattern": "^\\s*[1-5][0-9]{2}(-[1-5][0-9]{2})?\\s*$"
                }
              ]
            },
            {
              "type": "array",
              "items": {
                "anyOf": [
                  {
                    "type": "integer",
                    "minimum": 100,
                    "maximum": 599
                  },
                  {
                    "title": "a status code or range such as 200 or '200-299'",
                    "type": "string",
                    "pattern": "^\\s*[1-5][0-9]{2}(-[1-5][0-9]{2})?\\s*$"
                  }
                ]
              }
            }
          ],
          "examples": [
            200,
            "200-299",
            [200, 204]
          ]
        },
        "bodyMatches": {
          "title": "a non-empty string",
          "description": "A regular expression the response body must contain.",
          "type": "string",
          "pattern": "\\S",
          "format": "regex"
        },
        "jsonPath": {
          "title": "a JSONPath starting with '$', such as '$.status'",
          "description": "A JSONPath into the body (starting with '$'); give 'equals' too.",
          "type": "string",
          "pattern": "^\\$"
        },
        "equals": {
          "description": "The value 'jsonPath' must equal.",
          "type": ["string", "number", "boolean"]
        },
        "latencyBelow": {
          "description": "The request must take less than this.",
          "$ref": "#/$defs/duration"
        }
      },
      "dependentRequired": {
        "jsonPath": ["equals"],
        "equals": ["jsonPath"]
      },
      "description": "What counts as success for an http probe. Every field given must hold."
    },
    "toleranceTcp": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "latencyBelow": {
          "description": "The connection must take less than this.",
          "$ref": "#/$defs/duration"
        }
      },
      "description": "What counts as success for a tcp probe (the connection succeeds, and...)."
    },
    "toleranceCommand": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "exitCode": {
          "description": "The exit status required.",
          "type": "integer",
          "minimum": 0,
          "maximum": 255,
          "default": 0
        },
        "stdoutMatches": {
          "title": "a non-empty string",
          "description": "A regular expression standard output must contain.",
          "type": "string",
          "pattern": "\\S",
          "format": "regex"
        },
        "latencyBelow": {
          "description": "The command must finish in less than this.",
          "$ref": "#/$defs/duration"
        }
      },
      "description": "What counts as success for a command probe."
    },
    "tolerancePrometheus": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "valueBelow": {
          "description": "The query's value must be below this.",
          "type": "number"
        },
        "valueAbove": {
          "description": "The query's value must be above this.",
          "type": "number"
        },
        "valueEquals": {
          "description": "The query's value must equal this.",
          "type": "number"
        }
      },
      "description": "What counts as success for a prometheus probe."
    },
    "probeBody": {
      "description": "A probe: an observation repeated every 'interval'. Fields beyond the common ones depend on 'type'.",
      "type": "object",
      "required": ["type"],
      "properties": {
        "name": {
          "description": "The probe's name, unique in the file; stopWhen refers to it.",
          "$ref": "#/$defs/name"
        },
        "type": {
          "description": "The kind of probe.",
          "enum": ["http", "tcp", "command", "prometheus"]
        },
        "interval": {
          "description": "How often to observe (at least 50ms).",
          "$ref": "#/$defs/duration",
          "default": "1s"
        },
        "timeout": {
          "description": "How long one observation may take (at least 10ms, at most the interval). Default: 1s or the interval if shorter.",
          "$ref": "#/$defs/duration",
          "default": "1s"
        },
        "successThreshold": {
          "description": "Consecutive successes needed to count as up again (against flapping).",
          "type": "integer",
          "minimum": 1,
          "maximum": 100,
          "default": 1
        },
        "failureThreshold": {
          "description": "Consecutive failures needed to count as down.",
          "type": "integer",
          "minimum": 1,
          "maximum": 100,
          "default": 1
        }
      },
      "allOf": [
        {
          "if": {
            "properties": {
              "type": {
                "const": "http"
              }
            },
            "required": ["type"]
          },
          "then": {
            "properties": {
              "url": {
                "title": "a URL starting with http:// or https://",
                "description": "The URL to request; http:// or https://.",
                "type": "string",
                "pattern": "^https?://",
                "examples": ["http://10.0.0.10/healthz"]
              },
              "method": {
                "description": "The HTTP method.",
                "enum": ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
                "default": "GET"
              },
              "headers": {
                "description": "Request headers.",
                "type": "object",
                "additionalProperties": {
                  "type": "string"
                }
              },
              "body": {
                "description": "The request body.",
                "type": "string"
              },
              "insecure": {
                "description": "Accept any server certificate (https only).",
                "type": "boolean",
                "default": false
              },
              "caFile": {
                "description": "A CA bundle (PEM file) for https.",
                "$ref": "#/$defs/text"
              },
              "tolerance": {
                "$ref": "#/$defs/toleranceHttp"
              }
            },
            "required": ["url"]
          }
        },
        {
          "if": {
            "properties": {
              "type": {
                "const": "tcp"
              }
            },
            "required": ["type"]
          },
          "then": {
            "properties": {
              "address": {
                "title": "a host:port such as '10.0.0.31:6379'",
                "description": "host:port to connect to, e.g. '10.0.0.31:6379' or '[::1]:6379'.",
                "type": "string",
                "pattern": "^.+:0*([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$"
              },
              "tolerance": {
                "$ref": "#/$defs/toleranceTcp"
              }
            },
            "required": ["address"]
          }
        },
        {
          "if": {
            "properties": {
              "type": {
                "const": "command"
              }
            },
            "required": ["type"]
          },
          "then": {
            "properties": {
              "command": {
                "description": "The argv to run; success is exit status 0 unless 'tolerance' says otherwise.",
                "$ref": "#/$defs/argv"
              },
              "tolerance": {
                "$ref": "#/$defs/toleranceCommand"
              }
            },
            "required": ["command"]
          }
        },
        {
          "if": {
            "properties": {
              "type": {
                "const": "prometheus"
              }
            },
            "required": ["type"]
          },
          "then": {
            "properties": {
              "url": {
                "title": "a URL starting with http:// or https://",
                "description": "The Prometheus base URL, http:// or https://, e.g. 'http://10.0.0.5:9090'.",
                "type": "string",
                "pattern": "^https?://",
                "examples": ["http://10.0.0.5:9090"]
              },
              "query": {
                "description": "An instant PromQL query; its single value is judged by 'tolerance'.",
                "$ref": "#/$defs/text"
              },
              "tolerance": {
                "$ref": "#/$defs/tolerancePrometheus"
              }
            },
            "required": ["url", "query"]
          }
        }
      ],
      "unevaluatedProperties": false
    },
    "host": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "name": {
          "description": "The host's name, unique in the inventory.",
          "$ref": "#/$defs/name"
        },
        "address": {
          "description": "IP address or DNS name, unique in the inventory.",
          "$ref": "#/$defs/text"
        },
        "agent": {
          "title": "an agent URL such as 'https://10.0.0.31:7433'",
          "description": "The agent's base URL: https://ADDRESS:7433 (mTLS), http:// on loopback only, or unix:/path.",
          "type": "string",
          "pattern": "^(https?://|unix:)",
          "examples": ["https://10.0.0.31:7433"]
        },
        "tags": {
          "description": "Free-form labels; targets select hosts by them.",
          "type": "array",
          "items": {
            "title": "a non-empty string",
            "type": "string",
            "pattern": "\\S"
          }
        },
        "domains": {
          "description": "The failure domains the host belongs to, by kind (zone, rack, power, switch, or any name). SPOF analysis and what-if fail each value as one unit.",
          "type": "object",
          "propertyNames": {
            "title": "a domain kind: a name other than host, service and instance",
            "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$",
            "not": {"enum": ["host", "service", "instance"]}
          },
          "additionalProperties": {
            "title": "a domain value: letters, digits, '-', '_' and '.'",
            "type": ["string", "integer"],
            "pattern": "^[A-Za-z0-9._-]{1,63}$"
          },
          "examples": [{"zone": "us-east-1a", "rack": "r12"}]
        }
      },
      "required": ["name", "address"],
      "description": "A machine with an agent."
    },
    "target": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "name": {
          "description": "The target's name (experiments say 'target: NAME'); unique among targets and groups.",
          "$ref": "#/$defs/name"
        },
        "description": {
          "description": "Free text.",
          "type": "string"
        },
        "host": {
          "description": "A fixed host: the name of a host above.",
          "$ref": "#/$defs/text"
        },
        "tags": {
          "description": "Every host carrying all these tags.",
          "type": "array",
          "minItems": 1,
          "items": {
            "title": "a non-empty string",
            "type": "string",
            "pattern": "\\S"
          }
        },
        "resolve": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "command": {
              "description": "argv of a command whose first output word is the host's name or address.",
              "$ref": "#/$defs/argv"
            },
            "timeout": {
              "description": "How long the command may take (at least 10ms).",
              "$ref": "#/$defs/duration",
              "default": "5s"
            }
          },
          "required": ["command"],
          "description": "Find the host at run time (a primary that moves after failover)."
        },
        "process": {
          "description": "Which processes on the host(s); needed when process.* or systemd.* faults use this target.",
          "$ref": "#/$defs/processSelector"
        }
      },
      "required": ["name"],
      "oneOf": [
        {
          "required": ["host"]
        },
        {
          "required": ["tags"]
        },
        {
          "required": ["resolve"]
        }
      ],
      "description": "A named thing to hit: where (exactly one of host, tags or resolve) and what (process)."
    },
    "group": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "name": {
          "description": "The group's name; unique among targets and groups.",
          "$ref": "#/$defs/name"
        },
        "members": {
          "description": "Host or target names that back each other up.",
          "type": "array",
          "items": {
            "$ref": "#/$defs/text"
          }
        },
        "minHealthy": {
          "description": "Never take the group below this many healthy members (at most the number of members).",
          "type": "integer",
          "minimum": 0,
          "maximum": 100000
        },
        "health": {
          "description": "How to check one member; '{host}' and '{address}' in it are replaced by the member's. 'name' is optional here (default 'health').",
          "$ref": "#/$defs/probeBody"
        }
      },
      "required": ["name", "members", "minHealthy"],
      "description": "A redundancy group."
    },
    "dependency": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "from": {
          "description": "The dependent: a host, target, group or service name.",
          "$ref": "#/$defs/text"
        },
        "to": {
          "description": "What it depends on: a host, target, group or service name.",
          "$ref": "#/$defs/text"
        },
        "kind": {
          "description": "'hard': 'from' breaks without 'to'; 'soft': 'from' degrades.",
          "enum": ["hard", "soft"],
          "default": "hard"
        }
      },
      "required": ["from", "to"],
      "description": "'from' needs 'to', for single-point-of-failure analysis."
    },
    "service": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "name": {
          "description": "The service's name; unique among targets, groups and services.",
          "$ref": "#/$defs/name"
        },
        "description": {
          "type": "string"
        },
        "instances": {
          "description": "Where it runs: one entry per instance.",
          "type": "array",
          "minItems": 1,
          "items": {
            "$ref": "#/$defs/instance"
          }
        },
        "minHealthy": {
          "description": "Instances that must be up for the service to work (default 1: any one will do; at most the number of instances).",
          "type": "integer",
          "minimum": 1,
          "maximum": 100000,
          "default": 1
        },
        "entry": {
          "description": "Makes it a user-facing entry point: how users' success is observed. 'name' is optional here.",
          "$ref": "#/$defs/probeBody"
        },
        "target": {
          "description": "The inventory target that picks which instance 'chaos spof plan' and 'verify' hit (e.g. one whose resolver names the current primary); without it, the first instance.",
          "$ref": "#/$defs/name"
        }
      },
      "required": ["name", "instances"],
      "description": "A service of the architecture map."
    },
    "instance": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "host": {
          "description": "The host it runs on (a name under 'hosts').",
          "$ref": "#/$defs/text"
        },
        "process": {
          "$ref": "#/$defs/processSelector"
        },
        "unit": {
          "description": "Or the systemd unit.",
          "$ref": "#/$defs/text"
        }
      },
      "required": ["host"],
      "not": {
        "required": ["process", "unit"]
      },
      "description": "One instance of a service."
    }
  }
}
"""#

    static let controllerConfig = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:chaos:schema:v1:controller-config",
  "title": "chaos controller configuration (apiVersion chaos/v1, kind ControllerConfig)",
  "description": "How 'chaos controller' runs: its experiments, inventory, store, schedule, API and webhooks. Reference: docs/formats.md, 'Controller configuration'. 'chaos validate' is the authority (it also checks, e.g., that plain HTTP listens on loopback only and that a certificate is listed once).",
  "type": "object",
  "additionalProperties": false,
  "required": [
    "inventory"
  ],
  "properties": {
    "apiVersion": {
      "description": "The file format version.",
      "const": "chaos/v1"
    },
    "kind": {
      "description": "The kind of file.",
      "const": "ControllerConfig"
    },
    "experiments": {
      "$ref": "#/$defs/text",
      "description": "A directory searched for *.yaml, *.yml and *.json experiments, reloaded when a file changes (default /etc/chaos/experiments)."
    },
    "inventory": {
      "$ref": "#/$defs/text",
      "description": "The inventory file: hosts with their agents, targets, groups."
    },
    "stateDir": {
      "$ref": "#/$defs/text",
      "description": "The store is stateDir/runs (default /var/lib/chaos-controller)."
    },
    "identity": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "name": {
          "$ref": "#/$defs/text",
          "description": "The certificate's name (CN); default 'controller'."
        },
        "pkiDir": {
          "$ref": "#/$defs/text",
          "description": "Where NAME.pem, NAME-key.pem and ca.pem are (default /etc/chaos/pki)."
        }
      },
      "description": "The controller's certificate, for the agents and the API's TLS."
    },
    "schedule": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "seed": {
          "type": "integer",
          "minimum": 0,
          "description": "Of the Chaos-Monkey draws."
        },
        "grace": {
          "$ref": "#/$defs/duration",
          "description": "A fire missed by longer is recorded as missed, not run late (default 5m, at least 1s)."
        },
        "tick": {
          "$ref": "#/$defs/duration",
          "description": "How often the controller looks at the clock (default 10s, at least 200ms)."
        }
      }
    },
    "gate": {
      "$ref": "#/$defs/duration",
      "description": "The steady state observed before each fault (default 5s, at least 500ms)."
    },
    "api": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "listen": {
          "type": "string",
          "pattern": "^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]]+):[0-9]{1,5}$",
          "description": "ADDRESS:PORT or [V6]:PORT (default 0.0.0.0:7434)."
        },
        "plaintext": {
          "type": "boolean",
          "description": "Plain HTTP; only with a loopback listen address."
        },
        "tls": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "certificate": {
              "$ref": "#/$defs/text"
            },
            "key": {
              "$ref": "#/$defs/text"
            },
            "ca": {
              "$ref": "#/$defs/text"
            }
          },
          "description": "Default: the identity's files."
        },
        "access": {
          "type": "array",
          "description": "Roles of operators' certificates by name (CN); unlisted certificates are viewers.",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
              "certificate": {
                "$ref": "#/$defs/text"
              },
              "role": {
                "enum": [
                  "viewer",
                  "operator",
                  "admin"
                ]
              }
            },
            "required": [
              "certificate",
              "role"
            ]
          }
        },
        "tokens": {
          "type": "array",
          "description": "API tokens by the SHA-256 of the secret ('chaos controller token' prints the line).",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
              "name": {
                "$ref": "#/$defs/text"
              },
              "sha256": {
                "type": "string",
                "pattern": "^[0-9a-fA-F]{64}$"
              },
              "role": {
                "enum": [
                  "viewer",
                  "operator",
                  "admin"
                ]
              },
              "expires": {
                "type": "string",
                "description": "A date (2027-01-31) or date-time (2027-01-31T00:00:00Z), UTC unless an offset is written."
              }
            },
            "required": [
              "name",
              "sha256"
            ]
          }
        },
        "sessionLifetime": {
          "$ref": "#/$defs/duration",
          "description": "How long a dashboard sign-in lasts (default 12h, at least 1m)."
        }
      },
      "description": "The API and dashboard (off without this section)."
    },
    "notify": {
      "type": "array",
      "description": "Webhooks on run start, verdict, halt and resume.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "url": {
            "type": "string",
            "pattern": "^https?://"
          },
          "format": {
            "enum": [
              "json",
              "slack"
            ]
          },
          "events": {
            "type": "array",
            "items": {
              "enum": [
                "run.started",
                "run.verdict",
                "halt",
                "resume"
              ]
            }
          }
        },
        "required": [
          "url"
        ]
      }
    },
    "store": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "postgres": {
          "type": "string",
          "pattern": "^postgres(ql)?://",
          "description": "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...], or a socket directory: postgres://USER@/DATABASE?host=/run/postgresql."
        },
        "passwordFile": {
          "$ref": "#/$defs/text",
          "description": "The password, read at start."
        },
        "lease": {
          "$ref": "#/$defs/duration",
          "description": "How long a leader's lease runs without renewal (default 15s; 2s to 10m)."
        }
      },
      "required": [
        "postgres"
      ],
      "description": "A PostgreSQL store shared by several controllers, one of which leads; without it, the SQLite store in stateDir/runs."
    }
  },
  "$defs": {
    "duration": {
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)? ?(ms|s|m|h|d))+$",
      "title": "a duration such as '30s', '500ms' or '1h30m'",
      "description": "A duration with lowercase units: ms, s, m, h, d, combinable ('500ms', '30s', '2m', '1h30m'); one space may separate a number from its unit ('30 s'). A bare number is invalid."
    },
    "text": {
      "type": "string",
      "minLength": 1,
      "description": "Text (not empty)."
    }
  }
}
"""#

    static let agentConfig = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:chaos:schema:v1:agent-config",
  "title": "chaos agent configuration (apiVersion chaos/v1, kind AgentConfig)",
  "description": "How 'chaos agent' runs on a host: where it listens, its TLS files, its state, its leases and its policy. Reference: docs/agent-api.md and docs/operations.md, 'Running the agent'. 'chaos validate' is the authority (it also checks, e.g., that plaintext listens on loopback only and that TLS files are given otherwise).",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "apiVersion": {
      "description": "The file format version.",
      "const": "chaos/v1"
    },
    "kind": {
      "description": "The kind of file.",
      "const": "AgentConfig"
    },
    "name": {
      "$ref": "#/$defs/text",
      "description": "This host's inventory name (default: the hostname)."
    },
    "listen": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "address": {
          "$ref": "#/$defs/text",
          "description": "The address to listen on (default 0.0.0.0)."
        },
        "port": {
          "type": "integer",
          "minimum": 1,
          "maximum": 65535,
          "description": "Default 7433."
        }
      }
    },
    "tls": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "certificate": {
          "$ref": "#/$defs/text",
          "description": "The agent's certificate ('chaos certs issue --agent NAME --san ADDRESS')."
        },
        "key": {
          "$ref": "#/$defs/text"
        },
        "ca": {
          "$ref": "#/$defs/text",
          "description": "The CA bundle client certificates must chain to."
        }
      },
      "description": "Required unless plaintext."
    },
    "plaintext": {
      "type": "boolean",
      "description": "Plain HTTP without certificates; only on a loopback address, for tests and local use."
    },
    "stateDir": {
      "$ref": "#/$defs/text",
      "description": "The fault ledger and the controller epoch (default /var/lib/chaos)."
    },
    "lease": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "default": {
          "$ref": "#/$defs/duration",
          "description": "A fault's lease when the caller gives none (default 15s, at least 500ms)."
        },
        "max": {
          "$ref": "#/$defs/duration",
          "description": "The longest lease a caller may ask (default 5m, at least 500ms)."
        }
      }
    },
    "policy": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "allow": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/text"
          },
          "description": "Fault kinds or areas (process.*, network.*) callers may inject; default: every kind."
        },
        "maxDuration": {
          "$ref": "#/$defs/duration",
          "description": "The longest fault (default 10m)."
        },
        "maxDurations": {
          "type": "object",
          "description": "The longest fault per kind or area, e.g. {network.*: 2m}.",
          "additionalProperties": {
            "$ref": "#/$defs/duration"
          }
        },
        "denyProcesses": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/text"
          },
          "description": "Process names never targeted (besides the built-in protected processes)."
        },
        "protectedPorts": {
          "type": "array",
          "description": "Ports network faults never touch.",
          "items": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535
          }
        },
        "diskFill": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "paths": {
              "type": "array",
              "description": "Absolute directories disk.fill may write into.",
              "items": {
                "type": "string",
                "pattern": "^/"
              }
            },
            "maxPercent": {
              "description": "How full disk.fill may make a filesystem, e.g. '90%'.",
              "oneOf": [
                {
                  "type": "string",
                  "pattern": "^[0-9]+(\\.[0-9]+)? ?%$"
                },
                {
                  "type": "number",
                  "minimum": 1,
                  "maximum": 100
                }
              ]
            }
          }
        },
        "permissions": {
          "type": "array",
          "description": "Who may do what, by certificate role (OU) and names (CN). Without it: the controller may do everything; operators may read, preview, revert and halt.",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
              "role": {
                "$ref": "#/$defs/text",
                "description": "controller, operator or agent"
              },
              "names": {
                "type": "array",
                "items": {
                  "$ref": "#/$defs/text"
                }
              },
              "actions": {
                "type": "array",
                "items": {
                  "enum": [
                    "read",
                    "inject",
                    "revert",
                    "renew",
                    "halt",
                    "resume",
                    "preview"
                  ]
                }
              }
            },
            "required": [
              "role",
              "actions"
            ]
          }
        }
      },
      "description": "What callers may do here."
    }
  },
  "$defs": {
    "duration": {
      "type": "string",
      "pattern": "^([0-9]+(\\.[0-9]+)? ?(ms|s|m|h|d))+$",
      "title": "a duration such as '30s', '500ms' or '1h30m'",
      "description": "A duration with lowercase units: ms, s, m, h, d, combinable ('500ms', '30s', '2m', '1h30m'); one space may separate a number from its unit ('30 s'). A bare number is invalid."
    },
    "text": {
      "type": "string",
      "minLength": 1,
      "description": "Text (not empty)."
    }
  }
}
"""#
}
