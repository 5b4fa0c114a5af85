"""Runs the reference RADL parser (radl==1.3.5 + PyYAML) over a batch of documents.

stdin: a JSON list of documents (strings). stdout: a JSON list with, for each,
{"stage": "ok"|"parse"|"check", "exception": class, "error": str, "json": [...]}.
Used by tests/differential.rs; never treats a document as a file path.
"""
import json
import sys

from radl import radl_json, radl_parse
from radl.radl import RADL


def run(text):
    try:
        if text.strip() == "":
            r = RADL()
        else:
            r = radl_parse.RADLParser(lextab="radl").parse(text + "\n")
    except Exception as ex:  # the reference raises many exception types
        return {"stage": "parse", "exception": type(ex).__name__, "error": str(ex)}
    try:
        r.check()
    except Exception as ex:
        return {"stage": "check", "exception": type(ex).__name__, "error": str(ex)}
    simple = radl_json.radlToSimple(r)
    for elem in simple:
        if elem.get("class") == "description":
            elem["id"] = r.description.id
    return {"stage": "ok", "json": simple}


docs = json.load(sys.stdin)
json.dump([run(d) for d in docs], sys.stdout)
