#!/usr/bin/env python3
"""An independent check of Herald's files against JSON Schemas, with the `jsonschema` package
(PyPI), so that what `herald schema` writes is checked by a validator Herald did not write.

    schema-validate.py --schemas DIR WORKSPACE...   each .yml of each workspace against its schema
    schema-validate.py --schema FILE DOCUMENT.json  one JSON document against one schema

Prints one JSON object per file: {"workspace", "file", "valid", "errors"}. YAML is read as YAML 1.2
(the core schema, as editors' language servers read it): `21:00` is text, not the sexagesimal
number YAML 1.1 makes of it, and `2026-12-01` is text, not a date.

A workspace directory may hold `.environment.json` ({"NAME": "value"}): each `${NAME}` of its
herald.yml is then replaced by the value before the file is read, to check the values Herald checks
(Herald replaces them after parsing, so `{key_file: ${KEY}}` is valid to Herald but not to YAML).
"""
import json
import os
import re
import sys

import jsonschema
import yaml

NULL = re.compile(r"^(~|null|Null|NULL|)$")
TRUE = re.compile(r"^(true|True|TRUE)$")
FALSE = re.compile(r"^(false|False|FALSE)$")
INT = re.compile(r"^[-+]?[0-9]+$")
OCTAL = re.compile(r"^0o[0-7]+$")
HEX = re.compile(r"^0x[0-9a-fA-F]+$")
FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
SPECIAL = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}


def scalar(node):
    value = node.value
    if node.style is not None:  # quoted or block: always text
        return value
    if NULL.match(value):
        return None
    if TRUE.match(value):
        return True
    if FALSE.match(value):
        return False
    if INT.match(value):
        return int(value)
    if OCTAL.match(value):
        return int(value[2:], 8)
    if HEX.match(value):
        return int(value[2:], 16)
    if FLOAT.match(value):
        return float(value)
    if value.lower() in SPECIAL:
        return SPECIAL[value.lower()]
    return value


def convert(node):
    if isinstance(node, yaml.ScalarNode):
        return scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [convert(item) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        return {str(key.value): convert(value) for key, value in node.value}
    raise ValueError("unsupported node")


REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")


def substitute(text, environment):
    def replace(match):
        if match.group(0) == "$${":
            return match.group(0)
        return environment.get(match.group(1), match.group(0))
    return REFERENCE.sub(replace, text)


def load_yaml(path, environment=None):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if environment is not None:
        text = substitute(text, environment)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    return None if node is None else convert(node)


def schema_for(relative):
    """The schema file of a workspace file, as `herald schema` names them; None for other files."""
    parts = relative.split("/")
    name = parts[-1]
    if not name.endswith(".yml"):
        return None
    if parts == ["herald.yml"]:
        return "herald.schema.json"
    if len(parts) == 2 and parts[0] == "campaigns":
        return "campaign.schema.json"
    if len(parts) == 2 and parts[0] == "segments":
        return "segment.schema.json"
    if len(parts) == 2 and parts[0] == "templates":
        stem = name[: -len(".yml")]
        return "template-variant.schema.json" if "." in stem else "template.schema.json"
    return None


def validate(schema, document):
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}" for error in validator.iter_errors(document)]


def main(arguments):
    if len(arguments) == 3 and arguments[0] == "--schema":
        with open(arguments[1], encoding="utf-8") as handle:
            schema = json.load(handle)
        with open(arguments[2], encoding="utf-8") as handle:
            document = json.load(handle)
        errors = validate(schema, document)
        print(json.dumps({"workspace": None, "file": arguments[2], "valid": not errors, "errors": errors}))
        return 0
    if len(arguments) < 3 or arguments[0] != "--schemas":
        print(__doc__, file=sys.stderr)
        return 2
    schemas = {}
    for name in os.listdir(arguments[1]):
        with open(os.path.join(arguments[1], name), encoding="utf-8") as handle:
            schemas[name] = json.load(handle)
    for workspace in arguments[2:]:
        environment = None
        environment_file = os.path.join(workspace, ".environment.json")
        if os.path.exists(environment_file):
            with open(environment_file, encoding="utf-8") as handle:
                environment = json.load(handle)
        for directory, directories, names in os.walk(workspace):
            directories[:] = sorted(d for d in directories if not d.startswith("."))
            for name in sorted(names):
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, workspace).replace(os.sep, "/")
                schema_name = schema_for(relative)
                if schema_name is None:
                    continue
                try:
                    document = load_yaml(path, environment if relative == "herald.yml" else None)
                    errors = validate(schemas[schema_name], {} if document is None else document)
                except (yaml.YAMLError, UnicodeDecodeError, ValueError) as error:
                    errors = [f"not readable: {error}"]
                print(json.dumps({"workspace": workspace, "file": relative, "valid": not errors, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
