"""Validate JSON documents against a JSON Schema (draft 2020-12) with Debian's python3-jsonschema, an
implementation independent of mailpath's own code. Usage: validate_schema.py SCHEMA < DOC (one JSON
document on stdin). Prints one line per error (message, then the instance path) and exits 1 when
there are errors, 0 when the document is valid."""
import datetime
import json
import re
import sys

from jsonschema import Draft202012Validator, FormatChecker

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
checker = FormatChecker()


# Debian's jsonschema checks `date-time` only with a package Debian does not have: RFC 3339 here.
@checker.checks("date-time", raises=ValueError)
def date_time(value):
    if not isinstance(value, str):
        return True
    if not RFC3339.fullmatch(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


with open(sys.argv[1], encoding="utf-8") as f:
    schema = json.load(f)
Draft202012Validator.check_schema(schema)
doc = json.load(sys.stdin)
errors = sorted(
    Draft202012Validator(schema, format_checker=checker).iter_errors(doc), key=lambda e: list(e.path)
)
for e in errors:
    print(f"{e.message} at /{'/'.join(str(p) for p in e.path)}")
sys.exit(1 if errors else 0)
