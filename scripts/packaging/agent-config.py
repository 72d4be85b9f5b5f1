#!/usr/bin/env python3
"""Makes the packaged /etc/chaos/agent.yaml from deploy/agent.example.yaml (stdin → stdout): the schema
modeline points at the installed schema, the host's name defaults to its hostname, and the TLS files are
the ones the agent's enrolment writes in /var/lib/chaos/pki (the unit has ProtectSystem=full: the agent
cannot write under /etc). Everything else stays as in the example. Fails when the example no longer has
a line this expects, so the two cannot drift apart silently. Used by scripts/package.sh."""

import re
import sys

text = sys.stdin.read()

HEADER = """\
# yaml-language-server: $schema=/usr/share/chaos/schema/agent-config.schema.json
# /etc/chaos/agent.yaml — read by chaos-agent.service (/usr/bin/chaos-agent --config /etc/chaos/agent.yaml).
# Installed by the chaos-agent package as a conffile: your changes are kept on upgrades (dpkg asks when
# the packaged file changed too) and the file is removed on purge.
# Check it with `chaos validate /etc/chaos/agent.yaml`; every value but the TLS files has a default.
# The TLS files live in /var/lib/chaos/pki: on its first start the agent writes its key (agent-key.pem)
# and a certificate request there and waits for its certificate (agent.pem, and the CA's ca.pem).
"""

RULES = [
    # (pattern, replacement): each must match exactly once.
    (r"\A# yaml-language-server:[^\n]*\n# /etc/chaos/agent\.yaml[^\n]*\n# Check it with[^\n]*\n", HEADER),
    (r"^name: db1  ( +)# ([^\n]*)$", r"# name: db1\1# \2"),
    (r"^tls: +# [^\n]*$", "tls:                            # made by the agent's enrolment ('chaos certs approve')"),
    (r"^(  certificate: )/etc/chaos/pki/db1\.pem$", r"\1/var/lib/chaos/pki/agent.pem"),
    (r"^(  key: )/etc/chaos/pki/db1-key\.pem$", r"\1/var/lib/chaos/pki/agent-key.pem"),
    (r"^(  ca: )/etc/chaos/pki/ca\.pem", r"\1/var/lib/chaos/pki/ca.pem"),
]

for pattern, replacement in RULES:
    text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if count != 1:
        sys.exit(f"agent-config.py: deploy/agent.example.yaml has {count} lines matching '{pattern}', "
                 "expected 1; update scripts/packaging/agent-config.py to the example.")
if "/etc/chaos/pki" in text:
    sys.exit("agent-config.py: the packaged agent.yaml still names /etc/chaos/pki, which the agent cannot write.")
sys.stdout.write(text)
