#!/usr/bin/env python3
"""Renders a man page (roff) from the JSON that swift-argument-parser prints for
`COMMAND --experimental-dump-help` (ToolInfoV0): the command's synopsis, description and options,
then every subcommand (recursively) with its own. Used by scripts/package.sh.

    manpage.py --section 1 --version 1.2.3 --date 2026-01-31 [--extra FILE] < dump.json > chaos.1

--extra names a roff fragment appended before SEE ALSO (FILES, EXIT STATUS, SIGNALS...).
Only the Python standard library; no network."""

import argparse
import json
import re
import sys


def esc(text):
    """Escapes plain text for roff: backslashes, and a leading '.' or "'" on any line."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    # Non-ASCII as groff's Unicode escapes, so that the page needs no preconv.
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    lines = []
    for line in text.split("\n"):
        if line.startswith(".") or line.startswith("'"):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def paragraphs(text):
    """Plain lines flowed into paragraphs; runs of indented lines (examples) kept verbatim."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        runs = []  # (verbatim?, lines)
        for line in block.split("\n"):
            verbatim = line.startswith((" ", "\t"))
            if runs and runs[-1][0] == verbatim:
                runs[-1][1].append(line)
            else:
                runs.append((verbatim, [line]))
        for i, (verbatim, lines) in enumerate(runs):
            if verbatim:
                out.append(".RS 4\n.nf\n" + esc("\n".join(l.strip() for l in lines)) + "\n.fi\n.RE")
            else:
                out.append((".PP\n" if i == 0 else ".br\n") + esc(" ".join(l.strip() for l in lines)))
    return "\n".join(out)


def name_text(name):
    kind, value = name["kind"], name["name"]
    return ("--" if kind == "long" else "-") + value


def argument_label(arg):
    """How an argument is written: '\\fB\\-\\-for\\fR \\fIduration\\fR', '\\fIpath\\fR...'."""
    value = arg.get("valueName") or "value"
    if arg["kind"] == "positional":
        label = "\\fI" + esc(value) + "\\fR"
    else:
        names = arg.get("names") or ([arg["preferredName"]] if arg.get("preferredName") else [])
        label = ", ".join("\\fB" + esc(name_text(n)) + "\\fR" for n in names)
        if arg["kind"] == "option":
            label += " \\fI" + esc(f"<{value}>") + "\\fR"
    if arg.get("isRepeating"):
        label += " ..."
    return label


def synopsis_of(arg):
    label = argument_label(arg).split(", ")[0] if arg["kind"] != "positional" else argument_label(arg)
    if arg["kind"] == "option" and ", " in argument_label(arg):
        label = argument_label(arg).split(", ")[-1]
    return f"[{label}]" if arg.get("isOptional") else label


def visible(items):
    return [i for i in (items or []) if i.get("shouldDisplay", True) and i.get("commandName") != "help"]


def describe_arguments(args):
    out = []
    for arg in visible(args):
        out.append(".TP\n" + argument_label(arg))
        text = (arg.get("abstract") or "").strip()
        extra = []
        if arg.get("allValues") and arg["kind"] != "flag":
            extra.append("One of: " + ", ".join(arg["allValues"]) + ".")
        if arg.get("defaultValue") not in (None, ""):
            extra.append(f"Default: {arg['defaultValue']}.")
        body = " ".join(t for t in [text] + extra if t)
        out.append(esc(body) if body else "")
        if arg.get("discussion"):
            disc = arg["discussion"]
            if isinstance(disc, dict):  # enumerated values with descriptions
                disc = "\n".join(f"{k}: {v}" for k, v in disc.items())
            out.append(paragraphs(disc).replace(".PP\n", ".IP\n"))
    return "\n".join(out)


def command_section(cmd, path):
    """A .SS for one subcommand, then its children."""
    full = " ".join(path)
    out = []
    args = visible(cmd.get("arguments"))
    synopsis = " ".join(synopsis_of(a) for a in args if not
                        any(n["name"] in ("help", "version") for n in (a.get("names") or [])))
    out.append(f'.SS "{esc(full)}"')
    if cmd.get("aliases"):
        out.append(".PP\nAliases: " + esc(", ".join(cmd["aliases"])) + ".")
    out.append(".PP\n\\fB" + esc(full) + "\\fR " + synopsis)
    if cmd.get("abstract"):
        out.append(".PP\n" + esc(cmd["abstract"]))
    if cmd.get("discussion"):
        out.append(paragraphs(cmd["discussion"]))
    own = [a for a in args if not any(n["name"] in ("help", "version") for n in (a.get("names") or []))]
    if own:
        out.append(".PP\nOptions:\n.RS 4")
        out.append(describe_arguments(own))
        out.append(".RE")
    for sub in visible(cmd.get("subcommands")):
        out.append(command_section(sub, path + [sub["commandName"]]))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--section", default="1")
    ap.add_argument("--version", required=True)
    ap.add_argument("--date", required=True)
    ap.add_argument("--extra", help="a roff fragment to append before SEE ALSO")
    ap.add_argument("--see-also", default="", help="comma-separated, e.g. 'chaos-agent(8),systemctl(1)'")
    opts = ap.parse_args()
    info = json.load(sys.stdin)["command"]
    name = info["commandName"]
    out = [
        f'.\\" Generated by scripts/packaging/manpage.py from `{name} --experimental-dump-help`; do not edit.',
        f'.TH "{name.upper()}" "{opts.section}" "{opts.date}" "chaos {esc(opts.version)}" "chaos manual"',
        ".SH NAME",
        f"{esc(name)} \\- {esc(info.get('abstract') or name)}",
        ".SH SYNOPSIS",
    ]
    subs = visible(info.get("subcommands"))
    args = [a for a in visible(info.get("arguments")) if not any(n["name"] == "help" for n in (a.get("names") or []))]
    if subs:
        out.append(f"\\fB{esc(name)}\\fR \\fIcommand\\fR [\\fIoptions\\fR]")
        out.append(".br")
    if args or not subs:
        out.append(f"\\fB{esc(name)}\\fR " + " ".join(synopsis_of(a) for a in args))
        out.append(".br")
    out.append(f"\\fB{esc(name)}\\fR [\\fIcommand\\fR] \\fB\\-\\-help\\fR")
    if info.get("discussion"):
        out.append(".SH DESCRIPTION")
        out.append(paragraphs(info["discussion"]))
    if args:
        out.append(".SH OPTIONS")
        out.append(describe_arguments(args))
    if subs:
        out.append(".SH COMMANDS")
        out.append(".PP\nEach command takes \\fB\\-\\-help\\fR; \\fB" + esc(name) + " help\\fR \\fIcommand\\fR prints the same.")
        for sub in subs:
            out.append(command_section(sub, [name, sub["commandName"]]))
    if opts.extra:
        with open(opts.extra, encoding="utf-8") as f:
            out.append(f.read().rstrip("\n"))
    if opts.see_also:
        out.append(".SH SEE ALSO")
        refs = [r.strip() for r in opts.see_also.split(",") if r.strip()]
        out.append(",\n".join(f"\\fB{esc(r.split('(')[0])}\\fR({r.split('(')[1]}" for r in refs))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
