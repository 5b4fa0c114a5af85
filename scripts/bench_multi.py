#!/usr/bin/env python3
"""Scale-out benchmark: `im serve` instances sharing one PostgreSQL or MySQL
database, against the reference Python IM 2.0's sequential create rate.

Loopback only, stdlib only, bounded loops. The HTTP client and the 1-VM Dummy
RADL are those of ../shared/peer/bench.py (imported, not copied).

  1. reference (--ref-base): N sequential synchronous creates.
  2. for each instance count K in --instances: a fresh database, K servers on
     it, then
       seq   (K = 1 only) N sequential synchronous creates;
       par   --concurrency clients creating --par-n infrastructures, each
             request sent to the next server in turn (a round-robin balancer
             without the proxy hop);
       state the same clients reading GET .../state of those infrastructures.
     During each phase: the CPU time of the servers, of the database server's
     processes and of this client, over the wall time (so where the two cores
     go), and on PostgreSQL the WAL syncs per request (pg_stat_wal).
Prints one JSON line per phase and a markdown table.
"""
import argparse
import json
import os
import random
import resource
import string
import subprocess
import sys
import threading
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "peer"))
from bench import RADL, Client, pct  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
# PostgreSQL's backends flush their statistics at most every 10 s when idle.
STATS_LAG = 11.0


def proc_cpu(pids):
    """utime + stime (s) of the given processes (gone ones count 0)."""
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError, ValueError):
            pass
    return total


def db_cpu(names):
    """utime + stime (s) per process of the database server (every process
    whose name is in names: PostgreSQL forks a backend per connection, and
    the servers' pools open theirs lazily, so they are found again at the end
    of each phase; a process that is new counts from 0)."""
    return {pid: proc_cpu([pid]) for pid in db_pids(names)}


def db_pids(names):
    """The processes whose name is in names."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in names:
            out.append(int(d))
    return out


def machine_cpu():
    """(busy, total) jiffies of the whole machine (/proc/stat), all cores."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Sql:
    """psql or mysql on the database URL (the admin side of the bench)."""

    def __init__(self, url):
        self.url = urlparse(url)
        self.pg = self.url.scheme.startswith("postgres")

    def run(self, sql, db=None):
        u = self.url
        if self.pg:
            cmd = ["psql", "-h", u.hostname, "-U", u.username or "postgres", "-At",
                   "-v", "ON_ERROR_STOP=1", "-d", db or "postgres", "-c", sql]
        else:
            cmd = ["mysql", "-h", u.hostname, "-u", u.username or "root", "-N", "-B", "-e", sql]
            if db:
                cmd.append(db)
        env = dict(os.environ, PGPASSWORD=u.password or "", MYSQL_PWD=u.password or "")
        return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env,
                              timeout=60).stdout.strip()

    def fresh(self, name):
        """Drops and creates database `name`; returns its URL."""
        if self.pg:
            self.run("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        else:
            self.run("DROP DATABASE IF EXISTS %s" % name)
        self.run("CREATE DATABASE %s" % name)
        u = self.url
        return u._replace(path="/" + name).geturl()

    def counters(self):
        """(WAL syncs, transactions committed) of the whole server, on
        PostgreSQL. Backends report them lazily (up to 10 s late when they go
        idle): the caller waits STATS_LAG before reading the end of a phase."""
        if not self.pg:
            return None
        try:
            out = self.run("SELECT (SELECT wal_sync FROM pg_stat_wal), "
                           "(SELECT sum(xact_commit) FROM pg_stat_database)")
            syncs, commits = out.split("|")
            return int(syncs), int(commits)
        except (subprocess.CalledProcessError, ValueError):
            return None


def start_servers(im, db_url, k, base_port, log_dir):
    procs, bases = [], []
    for i in range(k):
        port = base_port + i
        log = open(os.path.join(log_dir, "serve-%d.log" % i), "w")
        p = subprocess.Popen([im, "serve", "--listen", "127.0.0.1:%d" % port, "--db", db_url],
                             stdout=log, stderr=subprocess.STDOUT, cwd=log_dir)
        procs.append(p)
        bases.append("http://127.0.0.1:%d" % port)
    for b in bases:
        cl = Client(b, "", 5)
        for _ in range(300):
            try:
                if cl.req("GET", "/version", auth=False)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("server at %s did not start (see %s)" % (b, log_dir))
    return procs, bases


def stop_servers(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_phase(name, items, fn, clients, server_pids, dbp, sql):
    """Runs fn(client, item) over items with the clients (one thread each);
    dbp: the process names of the database server."""
    lat, errors, out = [], [0], []
    lock = threading.Lock()
    it = iter(items)

    def worker(cl):
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                return
            ok, dt, res = fn(cl, item)
            with lock:
                if ok:
                    lat.append(dt)
                    out.append(res)
                else:
                    errors[0] += 1
                    if errors[0] <= 3:
                        print("  error: %s" % res, file=sys.stderr)

    pg0 = sql.counters() if sql else None
    m0 = machine_cpu()
    c0 = (proc_cpu(server_pids), db_cpu(dbp), self_cpu())
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(cl,)) for cl in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    c1 = (proc_cpu(server_pids), db_cpu(dbp), self_cpu())
    m1 = machine_cpu()
    db_s = sum(cpu - c0[1].get(pid, 0.0) for pid, cpu in c1[1].items())
    pg1 = None
    if pg0 is not None:
        time.sleep(STATS_LAG)
        pg1 = sql.counters()
    n = len(lat)
    res = {
        "phase": name, "ok": n, "errors": errors[0], "wall_s": round(wall, 3),
        "req_per_s": round(n / wall, 1) if wall else None,
        "p50_ms": round(pct(lat, 50) * 1000, 2) if lat else None,
        "p99_ms": round(pct(lat, 99) * 1000, 2) if lat else None,
        # CPU time over wall time, in cores (this machine has os.cpu_count()).
        "servers_cores": round((c1[0] - c0[0]) / wall, 2),
        "db_cores": round(db_s / wall, 2),
        "client_cores": round((c1[2] - c0[2]) / wall, 2),
        # Everything, kernel and other processes included.
        "machine_busy_cores": round((m1[0] - m0[0]) / max(m1[1] - m0[1], 1) * os.cpu_count(), 2),
        "servers_cpu_ms_per_req": round((c1[0] - c0[0]) * 1000 / max(n, 1), 2),
        "db_cpu_ms_per_req": round(db_s * 1000 / max(n, 1), 2),
    }
    if pg0 is not None and pg1 is not None:
        # Server-wide: includes the servers' lease heartbeats and this
        # script's own queries (a few per phase).
        res["wal_syncs_per_req"] = round((pg1[0] - pg0[0]) / max(n, 1), 2)
        res["commits_per_req"] = round((pg1[1] - pg0[1]) / max(n, 1), 2)
    print(json.dumps(res), flush=True)
    return res, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--im", required=True, help="the im binary")
    ap.add_argument("--db-url", required=True, help="admin URL of the PostgreSQL or MySQL server")
    ap.add_argument("--ref-base", default="", help="the reference IM's URL (sequential creates)")
    ap.add_argument("--ref-stop-cmd", default="", help="shell command that stops the reference after its phase")
    ap.add_argument("--n", type=int, default=200, help="sequential creates")
    ap.add_argument("--par-n", type=int, default=800, help="creates per parallel phase")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--instances", default="1,2,3")
    ap.add_argument("--base-port", type=int, default=18800)
    ap.add_argument("--log-dir", default="/var/tmp/im-bench/multi")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if not (1 <= args.n <= 100000 and 1 <= args.par_n <= 100000 and 1 <= args.concurrency <= 256):
        raise SystemExit("--n, --par-n or --concurrency out of range")
    for u in (args.db_url, args.ref_base):
        if u and urlparse(u).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("refusing non-loopback URL %s" % u)
    os.makedirs(args.log_dir, exist_ok=True)
    user = "bench-" + "".join(random.choice(string.ascii_lowercase) for _ in range(8))
    auth = ("id = im; type = InfrastructureManager; username = %s; password = pw\\n"
            "id = dummy; type = Dummy" % user)

    def create(cl, _):
        st, body, dt = cl.req("POST", "/infrastructures?async=0", body=RADL,
                              headers={"Content-Type": "text/plain"})
        return st == 200, dt, (body.strip().rsplit("/", 1)[-1] if st == 200 else "HTTP %d %s" % (st, body[:200]))

    def state(cl, inf_id):
        st, body, dt = cl.req("GET", "/infrastructures/%s/state" % inf_id, headers={"Accept": "application/json"})
        return st == 200, dt, inf_id if st == 200 else "HTTP %d %s" % (st, body[:200])

    results = {"meta": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg(), "n": args.n,
                        "par_n": args.par_n, "concurrency": args.concurrency,
                        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}, "phases": []}
    if args.ref_base:
        res, _ = run_phase("reference: sequential creates", range(args.n), create,
                           [Client(args.ref_base, auth, 300)], [], set(), None)
        results["phases"].append(res)
        if args.ref_stop_cmd:
            # It would otherwise take CPU from ours (its threads poll).
            subprocess.run(args.ref_stop_cmd, shell=True, check=False, timeout=60)
    sql = Sql(args.db_url)
    for k in [int(x) for x in args.instances.split(",")]:
        url = sql.fresh("im_bench_multi")
        procs, bases = start_servers(args.im, url, k, args.base_port, args.log_dir)
        pids = [p.pid for p in procs]
        dbp = {"postgres"} if sql.pg else {"mariadbd", "mysqld"}
        try:
            if k == 1:
                res, _ = run_phase("ours x1: sequential creates", range(args.n), create,
                                   [Client(bases[0], auth, 60)], pids, dbp, sql)
                results["phases"].append(res)
            # Each client sends its next request to the next server: a
            # round-robin balancer, without the extra hop.
            rr = RoundRobin(bases, auth)
            res, ids = run_phase("ours x%d: creates, %d clients" % (k, args.concurrency), range(args.par_n),
                                 rr.wrap(create), [rr.client(i) for i in range(args.concurrency)],
                                 pids, dbp, sql)
            results["phases"].append(res)
            res, _ = run_phase("ours x%d: GET state, %d clients" % (k, args.concurrency), ids,
                               rr.wrap(state), [rr.client(i) for i in range(args.concurrency)],
                               pids, dbp, sql)
            results["phases"].append(res)
        finally:
            stop_servers(procs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print()
    print("| phase | req/s | p50 | p99 | servers (cores) | database (cores) | client (cores) | machine busy (cores) "
          "| server CPU / req | database CPU / req | WAL syncs / req | commits / req |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["phases"]:
        print("| %s | %.1f | %.2f ms | %.2f ms | %.2f | %.2f | %.2f | %.2f | %.2f ms | %.2f ms | %s | %s |" % (
            r["phase"], r["req_per_s"] or 0, r["p50_ms"] or 0, r["p99_ms"] or 0, r["servers_cores"],
            r["db_cores"], r["client_cores"], r["machine_busy_cores"], r["servers_cpu_ms_per_req"], r["db_cpu_ms_per_req"],
            r.get("wal_syncs_per_req", ""), r.get("commits_per_req", "")))
    ref = [r for r in results["phases"] if r["phase"].startswith("reference")]
    seq = [r for r in results["phases"] if r["phase"] == "ours x1: sequential creates"]
    if ref and seq and ref[0]["req_per_s"]:
        print("\nsequential creates: ours %.1f/s, reference %.1f/s: %.0fx" % (
            seq[0]["req_per_s"], ref[0]["req_per_s"], seq[0]["req_per_s"] / ref[0]["req_per_s"]))


class RoundRobin:
    """Per client thread, one keep-alive connection to each server, the next
    request going to the next server."""

    def __init__(self, bases, auth):
        self.bases, self.auth = bases, auth

    def client(self, i):
        return {"conns": [Client(b, self.auth, 60) for b in self.bases], "next": i % len(self.bases)}

    @staticmethod
    def wrap(fn):
        def call(c, item):
            cl = c["conns"][c["next"]]
            c["next"] = (c["next"] + 1) % len(c["conns"])
            return fn(cl, item)
        return call


if __name__ == "__main__":
    main()
