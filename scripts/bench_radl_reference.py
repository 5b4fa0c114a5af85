#!/usr/bin/env python3
"""The reference side of the RADL parsing benchmark (radl==1.3.5, PyYAML).

Run by scripts/bench-radl with the reference's virtualenv; it measures the
same things as crates/im-radl/benches/parse.rs, on the same inputs:

  corpus  --json OUT [--fixtures DIR] [--seconds S] [--file-seconds S]
          parse + check() of every fixture (glusterfs.radl excluded: it does
          not parse; oscar.radl is included and its check() must fail, as in
          ours), repeated; per pass and per file. Two ways of calling the
          reference are timed:
            reused  one RADLParser(lextab='radl') for every document, then
                    parser.parse(text + "\\n") (what the oracle does, minus
                    building the parser): the faster of the two;
            im      radl_parse.parse_radl(text) as the IM's REST API calls it
                    (an os.path.isfile() probe and a new PLY parser per call).
  sizes   --json OUT --files F1,F2,.. [--limit S] [--seconds S]
          parse and check() of the generated documents (written by the Rust
          bench, never generated here); each size in a child process, stopped
          after --limit seconds (default 120).
  mem     FILE [--limit S]
          parse + check() FILE once in this process; one JSON line with
          resource.getrusage(RUSAGE_SELF).ru_maxrss (kB) at each stage. An
          empty file gives the baseline of an empty run.
  report  DIR
          the markdown tables, from the JSON files scripts/bench-radl wrote
          into DIR.

Internal: `worker FILE --limit S --seconds S` (one size; JSON lines).
"""

import argparse
import glob
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time

SKIPPED = {"glusterfs.radl"}
CHECK_FAILS = {"oscar.radl"}
DEFAULT_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "shared", "fixtures", "radl")


def _radl():
    from radl import radl_parse  # noqa: E402
    try:
        import yaml  # noqa: F401  (check() validates recipes only when PyYAML is importable)
    except ImportError:
        sys.exit("PyYAML is required (the IM has it): pip install radl==1.3.5 pyyaml")
    return radl_parse


def measure(budget, min_batches, fn):
    """Calls fn in batches of >= ~50 ms until `budget` seconds passed and at least
    `min_batches` batches ran; median and min of the per-call batch averages."""
    t = time.perf_counter()
    fn()
    first = max(time.perf_counter() - t, 1e-9)
    per_batch = max(1, min(1_000_000, int(0.05 / first + 0.999)))
    samples = []
    calls = 0
    start = time.perf_counter()
    while len(samples) < min_batches or time.perf_counter() - start < budget:
        t = time.perf_counter()
        for _ in range(per_batch):
            fn()
        samples.append((time.perf_counter() - t) / per_batch)
        calls += per_batch
    samples.sort()
    return {"median_s": samples[len(samples) // 2], "min_s": samples[0], "calls": calls}


def load_corpus(fixtures):
    docs = []
    for sub, prefix in ((fixtures, ""), (os.path.join(fixtures, "extra"), "extra/")):
        for path in glob.glob(os.path.join(sub, "*.radl")):
            name = os.path.basename(path)
            if name in SKIPPED:
                continue
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            docs.append({"name": prefix + name, "text": text, "check_fails": name in CHECK_FAILS})
    docs.sort(key=lambda d: (len(d["text"].encode("utf-8")), d["name"]))
    if len(docs) < 30:
        sys.exit("fixture corpus not found under %s (%d files)" % (fixtures, len(docs)))
    return docs


def cmd_corpus(args):
    radl_parse = _radl()
    docs = load_corpus(args.fixtures)
    parser = radl_parse.RADLParser(lextab='radl')

    def reused(text):
        radl = parser.parse(text + "\n")
        try:
            radl.check()
        except Exception:  # oscar.radl: expected, verified below
            pass
        return radl

    def im_style(text):
        radl = radl_parse.parse_radl(text)
        try:
            radl.check()
        except Exception:
            pass
        return radl

    for d in docs:  # every document gets the expected verdict
        radl = parser.parse(d["text"] + "\n")
        try:
            radl.check()
            ok = True
        except Exception:
            ok = False
        if ok == d["check_fails"]:
            sys.exit("%s: unexpected check() result %s" % (d["name"], ok))

    texts = [d["text"] for d in docs]

    def pass_reused():
        for t in texts:
            reused(t)

    def pass_im():
        for t in texts:
            im_style(t)

    parsed = [parser.parse(t + "\n") for t in texts]

    def pass_parse():
        for t in texts:
            parser.parse(t + "\n")

    def pass_check():
        for r in parsed:
            try:
                r.check()
            except Exception:
                pass

    out = {
        "impl": "radl==1.3.5",
        "python": sys.version.split()[0],
        "corpus": {
            "documents": len(docs),
            "bytes": sum(len(t.encode("utf-8")) for t in texts),
            "pass": measure(args.seconds, 5, pass_reused),
            "pass_parse": measure(args.seconds / 2, 5, pass_parse),
            "pass_check": measure(args.seconds / 2, 5, pass_check),
            "pass_im": measure(args.seconds, 5, pass_im),
        },
        "files": [],
    }
    for d in docs:
        text = d["text"]
        out["files"].append({
            "name": d["name"],
            "bytes": len(text.encode("utf-8")),
            "check_fails": d["check_fails"],
            "parse_check": measure(args.file_seconds, 5, lambda: reused(text)),
            "parse_check_im": measure(args.file_seconds, 5, lambda: im_style(text)),
        })
    with open(args.json, "w") as fh:
        json.dump(out, fh, indent=1)
    c = out["corpus"]
    print("reference corpus: %d documents; per pass: reused parser %.1f ms, as the IM calls it %.1f ms"
          % (c["documents"], c["pass"]["median_s"] * 1e3, c["pass_im"]["median_s"] * 1e3))


class Stopped(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` in the
    reference swallows it."""


def _alarm(_sig, _frame):
    raise Stopped()


def cmd_worker(args):
    """One generated file: reps of parse then check(); a JSON line per rep."""
    radl_parse = _radl()
    with open(args.file, encoding="utf-8") as fh:
        text = fh.read()
    parser = radl_parse.RADLParser(lextab='radl')
    signal.signal(signal.SIGALRM, _alarm)
    spent = 0.0
    for rep in range(args.max_reps):
        rec = {"rep": rep, "parse_s": None, "check_s": None, "stopped_after_s": None}
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, args.limit)
        radl = None
        try:
            radl = parser.parse(text + "\n")
            rec["parse_s"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            radl.check()
            rec["check_s"] = time.perf_counter() - t1
        except Stopped:
            rec["stopped_after_s"] = time.perf_counter() - t0
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if radl is not None and rec["parse_s"] is not None:
            rec["systems"] = len(radl.systems)
        del radl
        print(json.dumps(rec), flush=True)
        spent += time.perf_counter() - t0
        if rec["stopped_after_s"] is not None or spent >= args.seconds:
            break


def cmd_sizes(args):
    results = []
    for path in args.files.split(","):
        with open(path, "rb") as fh:
            size = len(fh.read())
        cmd = [sys.executable, os.path.abspath(__file__), "worker", path,
               "--limit", str(args.limit), "--seconds", str(args.seconds)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=args.limit * 2 + args.seconds + 60)
            lines, rc, err = proc.stdout, proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as ex:  # backstop: the alarm should fire first
            out = ex.stdout or ""
            lines, rc, err = out.decode() if isinstance(out, bytes) else out, -9, ""
        reps = [json.loads(line) for line in lines.splitlines() if line.startswith("{")]
        if rc != 0 and not reps:
            sys.exit("worker failed on %s: %s" % (path, err))
        done = [r for r in reps if r["stopped_after_s"] is None]
        stopped = [r for r in reps if r["stopped_after_s"] is not None]
        res = {"file": path, "bytes": size, "reps": reps, "limit_s": args.limit}
        if done:
            res["systems"] = done[0].get("systems")
            res["parse"] = statistics.median(r["parse_s"] for r in done)
            res["check"] = statistics.median(r["check_s"] for r in done)
            res["total"] = statistics.median(r["parse_s"] + r["check_s"] for r in done)
        else:
            r = stopped[0] if stopped else {}
            res["systems"] = r.get("systems")
            res["parse"] = r.get("parse_s")
            res["check"] = None
            res["total"] = None
            res["stopped"] = True
        results.append(res)
        print("reference %s: parse %s s, check %s s%s" % (
            os.path.basename(path), res["parse"], res["check"],
            " (stopped after %s s)" % args.limit if res.get("stopped") else ""), flush=True)
    with open(args.json, "w") as fh:
        json.dump({"impl": "radl==1.3.5", "sizes": results}, fh, indent=1)


def cmd_mem(args):
    radl_parse = _radl()
    parser = radl_parse.RADLParser(lextab='radl')

    def rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux

    rec = {"impl": "radl==1.3.5", "file": args.file, "maxrss_start_kb": rss()}
    with open(args.file, encoding="utf-8") as fh:
        text = fh.read()
    rec["bytes"] = len(text.encode("utf-8"))
    rec["maxrss_after_read_kb"] = rss()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, args.limit)
    radl = None
    try:
        t = time.perf_counter()
        radl = parser.parse(text + "\n") if text.strip() else None
        rec["parse_s"] = time.perf_counter() - t
        rec["maxrss_after_parse_kb"] = rss()
        t = time.perf_counter()
        if radl is not None:
            radl.check()
        rec["check_s"] = time.perf_counter() - t
    except Stopped:
        rec["stopped_after_s"] = args.limit
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    rec["maxrss_after_check_kb"] = rss()
    rec["systems"] = len(radl.systems) if radl is not None else 0
    print(json.dumps(rec))


# ---------------------------------------------------------------------------
# Report

def _t(s):
    if s is None:
        return "—"
    if s >= 1:
        return "%.2f s" % s
    if s >= 1e-3:
        return "%.2f ms" % (s * 1e3)
    return "%.1f µs" % (s * 1e6)


def _ratio(ref, ours):
    if ref is None or ours is None or ours <= 0:
        return "—"
    r = ref / ours
    return "%.0f×" % r if r >= 10 else "%.1f×" % r


def _load(d, name):
    with open(os.path.join(d, name)) as fh:
        return json.load(fh)


def _load_line(d, name):
    with open(os.path.join(d, name)) as fh:
        return json.loads([l for l in fh.read().splitlines() if l.startswith("{")][-1])


def cmd_report(args):
    d = args.dir
    ours = _load(d, "ours.json")
    ref = _load(d, "ref-corpus.json")
    ref_sizes = _load(d, "ref-sizes.json")["sizes"]
    p = print

    oc, rc = ours["corpus"], ref["corpus"]
    n = oc["documents"]
    p("### Fixture corpus: parse + check()\n")
    p("%d documents, %d bytes (`../shared/fixtures/radl/*.radl` and `extra/*.radl` without "
      "`glusterfs.radl`; `oscar.radl` included, its `check()` fails in both). "
      "Time per pass of the whole corpus: median of the batches (min in parentheses; "
      "on a shared machine the min is the least disturbed figure).\n" % (n, oc["bytes"]))
    p("| | per pass | documents/s | parse only | check only | ratio (reference / ours) |")
    p("|---|---:|---:|---:|---:|---:|")

    def mm(st):
        return "%s (%s)" % (_t(st["median_s"]), _t(st["min_s"]))

    def rr(a, b):
        return "%s (%s)" % (_ratio(a["median_s"], b["median_s"]), _ratio(a["min_s"], b["min_s"]))

    p("| im-radl | %s | %s | %s | %s | |" % (
        mm(oc["pass"]), "{:,.0f}".format(n / oc["pass"]["median_s"]),
        mm(oc["pass_parse"]), mm(oc["pass_check"])))
    p("| reference, parser reused | %s | %s | %s | %s | **%s** |" % (
        mm(rc["pass"]), "{:,.0f}".format(n / rc["pass"]["median_s"]),
        mm(rc["pass_parse"]), mm(rc["pass_check"]), rr(rc["pass"], oc["pass"])))
    p("| reference, `parse_radl()` as the IM calls it | %s | %s | | | %s |" % (
        mm(rc["pass_im"]), "{:,.0f}".format(n / rc["pass_im"]["median_s"]),
        rr(rc["pass_im"], oc["pass"])))
    p("| ratio by phase (reference reused / ours) | | | %s | %s | |" % (
        rr(rc["pass_parse"], oc["pass_parse"]), rr(rc["pass_check"], oc["pass_check"])))
    p("")

    p("#### Per file (by size), parse + check(), median per document\n")
    p("The ratio in parentheses is that of the minima (the least disturbed figures).\n")
    p("| file | bytes | im-radl | reference (reused) | ratio | reference (`parse_radl`) | ratio |")
    p("|---|---:|---:|---:|---:|---:|---:|")
    rfiles = {f["name"]: f for f in ref["files"]}
    by_median, by_min = [], []
    for f in ours["files"]:
        r = rfiles.get(f["name"])
        o = f["parse_check"]["median_s"]
        om = f["parse_check"]["min_s"]
        rr = r["parse_check"]["median_s"] if r else None
        rm = r["parse_check"]["min_s"] if r else None
        ri = r["parse_check_im"]["median_s"] if r else None
        if rr is not None:
            by_median.append((rr / o, f["name"]))
            by_min.append((rm / om, f["name"]))
        p("| %s%s | %d | %s | %s | %s (%s) | %s | %s |" % (
            f["name"], " (check fails)" if f["check_fails"] else "", f["bytes"],
            _t(o), _t(rr), _ratio(rr, o), _ratio(rm, om), _t(ri), _ratio(ri, o)))
    p("")
    if by_median:
        low = sorted(by_median)
        low_min = sorted(by_min)
        under = [n for r, n in low if r < 50]
        p("Per document (reference reused / ours): by the medians lowest %.0f× (%s), "
          "median %.0f×, highest %.0f×; by the minima lowest %.0f× (%s), median %.0f×. "
          "Below 50× by the medians: %s.\n" % (
              low[0][0], low[0][1], statistics.median(r for r, _ in low), low[-1][0],
              low_min[0][0], low_min[0][1], statistics.median(r for r, _ in low_min),
              ", ".join("%s (%.0f×)" % (n, r) for r, n in low if r < 50) if under else "none"))

    p("### Generated documents: N systems\n")
    big = max(ours["sizes"], key=lambda s: s["systems"])
    p("Each system ≈%d bytes (cpu, memory with unit, one or two `net_interface` "
      "connections, image url, credentials, two `applications contains` blocks, a data "
      "disk) plus one `deploy` per system; 5 networks, 3 configures with a recipe, a "
      "small `contextualize`. The reference reads the very file the Rust bench wrote. "
      "Per-system × is the time per system relative to the smallest size "
      "(1.00 everywhere = linear).\n" % round(big["bytes"] / big["systems"]))
    p("| systems | MB | im-radl parse | im-radl check | im-radl parse+check | per MB | per-system × "
      "| reference parse | reference check | reference parse+check | per MB | per-system × | ratio |")
    p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rmap = {r["bytes"]: r for r in ref_sizes}
    base_o = base_r = None
    for s in ours["sizes"]:
        mb = s["bytes"] / 1e6
        o_tot = s["total"]["median_s"]
        per_o = o_tot / s["systems"]
        base_o = base_o or per_o
        r = rmap.get(s["bytes"], {})
        r_tot = r.get("total")
        if r_tot is not None:
            per_r = r_tot / s["systems"]
            base_r = base_r or per_r
            r_cells = (_t(r["parse"]), _t(r["check"]), _t(r_tot), _t(r_tot / mb),
                       "%.2f" % (per_r / base_r), _ratio(r_tot, o_tot))
        else:
            lim = r.get("limit_s")
            stop = "> %g s (stopped)" % lim if lim else "—"
            r_cells = (_t(r.get("parse")), stop, stop, "—", "—", "> %s" % _ratio(lim, o_tot) if lim else "—")
        p("| %s | %.2f | %s | %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %s |" % ((
            "{:,}".format(s["systems"]), mb, _t(s["parse"]["median_s"]), _t(s["check"]["median_s"]),
            _t(o_tot), _t(o_tot / mb), per_o / base_o) + r_cells))
    p("")

    mo, mob = _load_line(d, "mem-ours.json"), _load_line(d, "mem-ours-empty.json")
    mr, mrb = _load_line(d, "mem-ref.json"), _load_line(d, "mem-ref-empty.json")
    p("### Peak memory: one process parses + checks the %s-system file once\n" % "{:,}".format(mo["systems"]))
    p("RSS high-water mark: `VmHWM` of `/proc/self/status` for im-radl (`parse --parse-file`), "
      "`ru_maxrss` for the reference. The empty run is the same command on an empty file.\n")
    p("| | file | peak RSS | empty run | peak − empty | after parse only | parse (1 run) | check (1 run) |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|")
    mib = lambda kb: "%.1f MiB" % (kb / 1024.0)
    p("| im-radl | %.2f MB | %s | %s | **%s** | %s | %s | %s |" % (
        mo["bytes"] / 1e6, mib(mo["hwm_after_check_kb"]), mib(mob["hwm_after_check_kb"]),
        mib(mo["hwm_after_check_kb"] - mob["hwm_after_check_kb"]), mib(mo["hwm_after_parse_kb"]),
        _t(mo["parse_s"]), _t(mo["check_s"])))
    stopped = " (check stopped after %g s)" % mr["stopped_after_s"] if mr.get("stopped_after_s") else ""
    p("| reference | %.2f MB | %s | %s | **%s** | %s | %s | %s%s |" % (
        mr["bytes"] / 1e6, mib(mr["maxrss_after_check_kb"]), mib(mrb["maxrss_after_check_kb"]),
        mib(mr["maxrss_after_check_kb"] - mrb["maxrss_after_check_kb"]),
        mib(mr.get("maxrss_after_parse_kb", 0)), _t(mr.get("parse_s")), _t(mr.get("check_s")), stopped))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus")
    c.add_argument("--json", required=True)
    c.add_argument("--fixtures", default=DEFAULT_FIXTURES)
    c.add_argument("--seconds", type=float, default=10.0)
    c.add_argument("--file-seconds", type=float, default=0.5)
    s = sub.add_parser("sizes")
    s.add_argument("--json", required=True)
    s.add_argument("--files", required=True)
    s.add_argument("--limit", type=float, default=120.0)
    s.add_argument("--seconds", type=float, default=10.0)
    w = sub.add_parser("worker")
    w.add_argument("file")
    w.add_argument("--limit", type=float, default=120.0)
    w.add_argument("--seconds", type=float, default=10.0)
    w.add_argument("--max-reps", type=int, default=5)
    m = sub.add_parser("mem")
    m.add_argument("file")
    m.add_argument("--limit", type=float, default=120.0)
    r = sub.add_parser("report")
    r.add_argument("dir")
    args = ap.parse_args(argv)
    {"corpus": cmd_corpus, "sizes": cmd_sizes, "worker": cmd_worker, "mem": cmd_mem,
     "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
