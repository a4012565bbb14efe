"""`--format junit`: JUnit XML for CI test dashboards. One testcase per scanned file;
a file with findings fails, listing them; a file that could not be checked errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from poolsafe.core.model import FileError, Finding
from poolsafe.report import ReportContext


def render(ctx: ReportContext) -> str:
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for f in ctx.result.findings:
        by_file[f.path].append(f)
    errors: dict[str, list[FileError]] = defaultdict(list)
    for e in ctx.result.errors:
        errors[e.path].append(e)
    files = sorted(set(ctx.scanned) | set(by_file) | set(errors))
    failures = sum(1 for p in files if by_file.get(p))
    n_errors = sum(1 for p in files if errors.get(p) and not by_file.get(p))

    suites = ET.Element("testsuites", name="poolsafe", tests=str(len(files)),
                        failures=str(failures), errors=str(n_errors))
    suite = ET.SubElement(suites, "testsuite", name="poolsafe", tests=str(len(files)),
                          failures=str(failures), errors=str(n_errors), skipped="0")
    for path in files:
        case = ET.SubElement(suite, "testcase", name=path, classname="poolsafe", file=path)
        found = by_file.get(path, [])
        if found:
            n = len(found)
            codes = ", ".join(sorted({f.code for f in found}))
            failure = ET.SubElement(case, "failure", type=codes,
                                    message=f"{n} finding{'s' if n != 1 else ''} ({codes})")
            failure.text = "\n".join(
                f"{f.path}:{f.line}:{f.column}: {f.code} [{f.severity}] {f.message}"
                for f in found)
        for e in errors.get(path, []):
            err = ET.SubElement(case, "error", type="poolsafe", message=e.message)
            err.text = f"{e.path}: {e.message}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
        suites, encoding="unicode") + "\n"
