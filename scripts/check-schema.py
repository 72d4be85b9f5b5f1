#!/usr/bin/env python3
"""Check chaos files (YAML or JSON) against the JSON Schemas in docs/schema/.

Usage: scripts/check-schema.py [--schema-dir DIR] FILE...

For each file prints `FILE: valid`, or `FILE: invalid: ...` followed by the first problems, each with
the JSON pointer of the field and its line in the file. The schema is chosen by the file's `kind`
(Experiment, Inventory, ControllerConfig or AgentConfig). Exit status: 0 when every file is valid, 1 when any is invalid, 2 on usage
errors (no files, unreadable file, missing Python package).

The schemas catch most mistakes; `chaos validate` is the authority and checks a few more rules (names
that refer to other things, regex validity, jitter <= delay...; see docs/formats.md).

YAML is read the way chaos reads it (YAML 1.1 scalars, as libyaml/Yams resolve them): quoted values are
always strings; unquoted true/false/yes/no/on/off are booleans; dates and times stay text (PyYAML would
turn `2026-12-25` into a date object); a key whose value is empty or null counts as absent; a key
written twice is an error.
"""
import difflib
import json
import os
import re
import sys

MAX_ERRORS = 8
KINDS = {"Experiment": "experiment.schema.json", "Inventory": "inventory.schema.json", "ControllerConfig": "controller-config.schema.json", "AgentConfig": "agent-config.schema.json"}


def need(module, package):
    try:
        return __import__(module)
    except ImportError:
        sys.stderr.write(f"check-schema.py: the Python package '{package}' is not installed; "
                         f"install it with: python3 -m pip install {package}\n")
        sys.exit(2)


yaml = need("yaml", "PyYAML")
jsonschema = need("jsonschema", "jsonschema")


class Unparseable(Exception):
    pass


# ---------------------------------------------------------------- reading

def pointer(parts):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


_number_loader = yaml.SafeLoader("")


def construct_number(node):
    tag = node.tag.rsplit(":", 1)[-1]
    try:
        if tag == "int":
            return _number_loader.construct_yaml_int(node)
        return _number_loader.construct_yaml_float(node)
    except Exception:
        return node.value


def build(node, path, positions):
    positions[pointer(path)] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        if node.style in ("'", '"', "|", ">"):
            return node.value
        tag = node.tag.rsplit(":", 1)[-1]
        if tag == "null":
            return None
        if tag == "bool":
            return node.value.lower() in ("true", "yes", "on")
        if tag in ("int", "float"):
            return construct_number(node)
        return node.value  # str, timestamp, anything else: the text as written
    if isinstance(node, yaml.SequenceNode):
        return [build(item, path + [i], positions) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out, seen = {}, set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            if key in seen:
                m = key_node.start_mark
                raise Unparseable(f"line {m.line + 1}, column {m.column + 1}: key '{key}' appears twice in the same mapping")
            seen.add(key)
            here = pointer(path + [key])
            positions[("key", here)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            value = build(value_node, path + [key], positions)
            if value is not None:  # chaos treats `key:` and `key: null` as absent
                out[key] = value
        return out
    raise Unparseable(f"unsupported YAML node {type(node).__name__}")


def load(path):
    """Returns (data, positions). Raises Unparseable."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Unparseable(f"not UTF-8 text ({e})")
    positions = {}  # JSON pointer -> (line, column) of the value; ("key", pointer) -> of its key
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        if path.endswith(".json"):
            try:  # JSON that PyYAML's YAML 1.1 parser does not take; no line numbers then
                return json.loads(text), positions
            except ValueError:
                pass
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = " ".join(x for x in (e.context, e.problem) if x)
        raise Unparseable(f"not valid YAML or JSON: {where}{what}")
    except yaml.YAMLError as e:
        raise Unparseable(f"not valid YAML or JSON: {e}")
    if node is None:
        raise Unparseable("the file is empty")
    try:
        return build(node, [], positions), positions
    except RecursionError:
        raise Unparseable("an alias refers to itself (or nesting is too deep)")


# ---------------------------------------------------------------- explaining

def short(value, limit=60):
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_sentence(text):
    text = (text or "").strip()
    return re.split(r"\.\s+(?=[A-Z])", text)[0].rstrip(".") if text else ""


def depth(error):
    return max([len(error.absolute_path)] + [depth(sub) for sub in (error.context or [])])


def leaves(error):
    """The most specific errors behind an anyOf/oneOf error: those of the branch that got furthest
    into the instance (the branch the author most likely meant)."""
    if not error.context:
        return [error]
    branches = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
    def score(errs):  # deepest first; then a branch of the right shape; then the fewest problems
        return (max(depth(e) for e in errs), not all(e.validator == "type" for e in errs), -len(errs))
    best = max(branches.values(), key=score)
    return best  # nested anyOf/oneOf errors are explained (and narrowed) in turn by explain()


def allowed_properties(validator, schema, instance):
    """The fields a mapping may have: its 'properties' and those of the if/then branches that apply."""
    names = set((schema.get("properties") or {}).keys())
    for part in schema.get("allOf", []):
        if "if" in part and "then" in part and validator.evolve(schema=part["if"]).is_valid(instance):
            names |= set((part["then"].get("properties") or {}).keys())
    return names


TYPE_WORDS = {"string": "a string", "integer": "a whole number", "number": "a number", "boolean": "true or false",
              "array": "a list", "object": "a mapping (key: value pairs)", "null": "nothing"}


def shape(value):
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({short(value)})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "nothing"


def explain(error, validator):
    """Yields (pointer, message) for one jsonschema error."""
    path = list(error.absolute_path)
    here = pointer(path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        # With a 'type' that is not one of the allowed ones, nobody can tell which fields belong: the type
        # is reported on its own (as chaos validate does).
        # (Probes; a fault's own fields do not depend on its type.)
        type_schema = (schema.get("properties") or {}).get("type") or {}
        if kind == "unevaluatedProperties" and "enum" in type_schema and error.instance.get("type") not in type_schema["enum"]:
            return
        known = allowed_properties(validator, schema, error.instance)
        # Fields of a branch that failed for another reason are reported by that reason, not as unknown.
        for key in [k for k in error.instance if k not in known]:
            hint = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            yield pointer(path + [key]), "unknown field" + (f"; did you mean '{hint[0]}'?" if hint else "")
        return
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield pointer(path + [missing]), "is required"
        return
    if kind is None or error.schema is False or (kind == "not" and error.validator_value == {}):
        why = first_sentence(schema.get("description"))
        yield here, "is not allowed here" + (f": {why}" if why else "")
        return
    if kind == "dependentRequired":
        for key, wanted in error.validator_value.items():
            if isinstance(error.instance, dict) and key in error.instance:
                for w in wanted:
                    if w not in error.instance:
                        yield here, f"'{key}' needs '{w}' too"
        return
    if kind == "enum":
        options = error.validator_value
        hint = difflib.get_close_matches(error.instance, [str(o) for o in options], n=1, cutoff=0.6) if isinstance(error.instance, str) else []
        listed = ", ".join(repr(o) for o in options) if len(options) <= 16 else f"one of {len(options)} names"
        yield here, f"{short(error.instance)} is not allowed" + (f"; did you mean {hint[0]!r}?" if hint else "") + f" (allowed: {listed})"
        return
    if kind == "const":
        yield here, f"{short(error.instance)} is not allowed; use {error.validator_value!r}"
        return
    if kind == "pattern":
        if schema.get("title"):
            yield here, f"{short(error.instance)} is not {schema['title']}"
        else:
            what = first_sentence(schema.get("description")) or f"text matching {error.validator_value}"
            yield here, f"{short(error.instance)} does not have the expected form: {what}"
        return
    if kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        what = schema.get("title") or " or ".join(TYPE_WORDS.get(t, t) for t in wanted)
        yield here, f"expected {what}, found {shape(error.instance)}"
        return
    if kind == "minItems" and error.validator_value == 1:
        yield here, "must not be empty"
        return
    if kind == "oneOf" and all(isinstance(alt, dict) and list(alt) == ["required"] for alt in error.validator_value):
        alternatives = [alt["required"][0] for alt in error.validator_value]
        present = [a for a in alternatives if isinstance(error.instance, dict) and a in error.instance]
        yield here, (f"gives more than one of {', '.join(present)}" if present else "gives none") \
            + f"; give exactly one of {', '.join(alternatives)}"
        return
    if kind in ("oneOf", "anyOf") and error.context:
        subs = leaves(error)
        if subs:
            for sub in subs:
                yield from explain(sub, validator)
            return
    if kind == "not" and isinstance(error.instance, dict) and "ref" in error.instance:
        yield here, "'ref' names an inventory target, so 'host' and 'process' cannot be given too"
        return
    yield here, error.message


def where(positions, ptr):
    """(line, column) of the field at ptr (its key when it has one), or of its nearest parent."""
    pos = positions.get(("key", ptr)) or positions.get(ptr)
    while pos is None and ptr:
        ptr = ptr.rsplit("/", 1)[0]
        pos = positions.get(("key", ptr)) or positions.get(ptr)
    return pos


def check(path, schemas):
    """Returns a list of problem lines; empty when valid."""
    try:
        data, positions = load(path)
    except Unparseable as e:
        return [f"(document): {e}"]
    if not isinstance(data, dict):
        return [f"(document): expected a mapping (key: value pairs) at the top, found {shape(data)}"]
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in schemas:
        problems = []
        if data.get("apiVersion") != "chaos/v1":
            problems.append(f"/apiVersion: {short(data.get('apiVersion'))} is not supported; use 'chaos/v1'")
        hint = difflib.get_close_matches(str(kind), list(schemas), n=1, cutoff=0.6)
        problems.append("/kind: " + (f"{short(kind)} is not allowed" if kind is not None else "is required")
                        + (f"; did you mean {hint[0]!r}?" if hint else "; use 'Experiment' or 'Inventory'"))
        return problems
    validator = schemas[kind]
    found, seen = [], set()
    for error in validator.iter_errors(data):
        for ptr, message in explain(error, validator):
            if (ptr, message) in seen:
                continue
            seen.add((ptr, message))
            found.append((where(positions, ptr), ptr, message))
    found.sort(key=lambda f: (f[0] or (10**9, 0), f[1]))
    return [f"{ptr or '(document)'}: {message}" + (f" (line {pos[0]})" if pos else "") for pos, ptr, message in found]


def main(argv):
    args = argv[1:]
    schema_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "schema")
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(args) >= 2 and args[0] == "--schema-dir":
        schema_dir, args = args[1], args[2:]
    if not args or any(a.startswith("-") for a in args):
        sys.stderr.write("usage: scripts/check-schema.py [--schema-dir DIR] FILE...\n")
        return 2
    schemas = {}
    for kind, filename in KINDS.items():
        schema_path = os.path.join(schema_dir, filename)
        try:
            with open(schema_path) as f:
                schema = json.load(f)
        except (OSError, ValueError) as e:
            sys.stderr.write(f"check-schema.py: cannot read the schema {schema_path}: {e}\n")
            return 2
        cls = jsonschema.validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except jsonschema.exceptions.SchemaError as e:
            sys.stderr.write(f"check-schema.py: the schema {schema_path} is not a valid JSON Schema: {e.message}\n")
            return 2
        schemas[kind] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    status = 0
    for path in args:
        if not os.path.isfile(path):
            sys.stderr.write(f"{path}: cannot read: {'not a file' if os.path.exists(path) else 'no such file'}\n")
            status = 2
            continue
        problems = check(path, schemas)
        if not problems:
            print(f"{path}: valid")
            continue
        status = max(status, 1)
        print(f"{path}: invalid: {problems[0]}")
        for line in problems[1:MAX_ERRORS]:
            print(f"  {line}")
        if len(problems) > MAX_ERRORS:
            print(f"  ... and {len(problems) - MAX_ERRORS} more")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
