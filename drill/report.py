#!/usr/bin/env python3
"""Prints the people's table of a `drill.py --format json` result file."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drill  # noqa: E402

for path in sys.argv[1:]:
    with open(path) as f:
        text = f.read()
    try:
        doc = json.loads(text[text.index("{"):text.rindex("}") + 1])
    except ValueError:
        sys.exit("report: no JSON result in %s" % path)
    for r in doc["results"]:
        print(drill.table(r))
        print()
