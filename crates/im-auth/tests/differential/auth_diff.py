#!/usr/bin/env python3
"""Differential test of im-auth against the reference IM code (not run by cargo).

Generates random auth files, headers and JWTs, parses them with the reference
(`IM/auth.py`, `IM/CloudInfo.py`, `IM/openid/JWT.py` from PyPI IM==2.0.0) and with
im-auth's `describe` example, and prints every difference.

    CARGO_TARGET_DIR=/var/tmp/im-target cargo build -p im-auth --example describe
    /var/tmp/im-ref-venv/bin/python crates/im-auth/tests/differential/auth_diff.py [SEED] [N]

Environment: IM_AUTH_DESCRIBE (the example binary, default
$CARGO_TARGET_DIR/debug/examples/describe), IM_REF_SITE (site-packages holding IM).
Known, documented difference: ports that do not fit in an i64 (left out here).
"""
import base64, json, random, subprocess, sys, os, tempfile
sys.path.insert(0, os.environ.get("IM_REF_SITE", "/var/tmp/im-ref-venv/lib/python3.11/site-packages"))
from IM.auth import Authentication
from IM.CloudInfo import CloudInfo
from IM.openid.JWT import JWT

BIN = os.environ.get("IM_AUTH_DESCRIBE", os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "debug/examples/describe"))
TMP = tempfile.mkdtemp(prefix="im-auth-diff-")

def describe(items):
    res = {"items": items, "valid_ids": True}
    try:
        auth = Authentication(items)
    except Exception as ex:
        res["valid_ids"] = False
        res["id_error"] = str(ex)
        return res
    res["clouds"] = [c.serialize() for c in CloudInfo.get_cloud_list(auth)]
    return res

def ref_file(text):
    fd, path = tempfile.mkstemp(dir=TMP)
    with open(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    try:
        items = Authentication.read_auth_data(path)
    finally:
        pass
    return items, path

def ours(mode, arg):
    p = subprocess.run([BIN, mode, arg], capture_output=True, text=True)
    return json.loads(p.stdout)

rnd = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300

TYPES = ["OpenStack", "OpenNebula", "EGI", "InfrastructureManager", "VMRC", "EGIIS", "Vault", "Dummy", "Docker", "", "A.B", "type"]
HOSTS = ["server:2633", "https://h:5000/v3", "http://[::1]:80/x", "http://[1.2.3.4]/", "http://[v1.x]/p", "http://[fe80::1%eth0]:8/",
         "unix:///var/run/docker.sock", "one:abc", "one:", "a:b:c", "ftp://x:21/a;b", "http://x/a/b;c?d#e", "HTTP://Up:1", "x:y://z",
         "://x", "  http://sp:1", "h\u00b2:1", "h:\u0663\u0664", "h\uff0fx:1", "h\u2100:2", "1http://x", "http:\\\\n//x", "[::1]", "a/b:80",
         "http://user@h:9", "NONE://x", "\u00e9t\u00e9:80", "http://[::1", "http://]x", "s3://b/k?x"]
IDS = ["one", "1one", "_x", ".d", "-x", "a b", "\u00e9t\u00e9", "a\u0301", "x\u00b2", "\u24b6", "''", "a.b-c_d", "\u0663x", "x\u0663", ""]
KEYS = ["id", "type", "host", "username", "password", "tenant", "auth_version", "vo", "domain", "token", "TYPE", ""]
AV = ["2.0_password", "3.x_password", "3.x_oidc_access_token", "2.0_voms", "", "3.x_appcred", "password"]
CHARS = list("abc ;='\"\\n#:/[]%.-_\t") + ["\\n", "\\\\n", "\u3000", "\x1c", "\u00a0", "\u0663", "\u00b2", "\r"]

def val():
    r = rnd.random()
    if r < 0.5:
        return rnd.choice(["u", "p", "a=b", "'x;y'", '"q\'r"', "it''s", "", "''", "x\\ny", " sp ", "abc=", "a==", "'un", "\"dq"])
    return "".join(rnd.choice(CHARS) for _ in range(rnd.randint(0, 6)))

def line():
    parts = []
    for _ in range(rnd.randint(0, 7)):
        k = rnd.choice(KEYS)
        if k == "type": v = rnd.choice(TYPES)
        elif k == "host": v = rnd.choice(HOSTS)
        elif k == "id": v = rnd.choice(IDS)
        elif k == "auth_version": v = rnd.choice(AV)
        else: v = val()
        sep = rnd.choice([" = ", "=", " =", "= "])
        parts.append(k + sep + v)
    s = rnd.choice(["; ", ";", " ;"]).join(parts)
    if rnd.random() < 0.2: s += ";"
    if rnd.random() < 0.1: s = rnd.choice(["#", "  #", "\t"]) + s
    if rnd.random() < 0.1: s = "".join(rnd.choice(CHARS) for _ in range(rnd.randint(0, 20)))
    return s

fails = 0
for i in range(N):
    lines = [line() for _ in range(rnd.randint(1, 4))]
    text = rnd.choice(["\n", "\r\n", "\n\n"]).join(lines)
    if "file(" in text: continue
    # file mode
    try:
        items, path = ref_file(text)
        exp = describe(items) if isinstance(items, list) else {"error": "nonlist"}
    except Exception as ex:
        exp = {"error": str(ex)}; path = None
    if path:
        got = ours("file", path)
        os.unlink(path)
        if ("error" in exp) != ("error" in got) or ("error" not in exp and json.loads(json.dumps(exp)) != got):
            fails += 1
            print("FILE MISMATCH", repr(text)); print(" exp", json.dumps(exp)); print(" got", json.dumps(got))
    # header mode
    header = "\\n".join(lines)
    if "\r" in header or "\n" in header or "\x00" in header: continue
    if header == "": continue
    try:
        items = Authentication.read_auth_data(header.replace("\\\\n", "\n").split("\\n"))
        exp = describe(items) if isinstance(items, list) else {"error": "nonlist"}
    except Exception as ex:
        exp = {"error": str(ex)}
    got = ours("header", header)
    if ("error" in exp) != ("error" in got) or ("error" not in exp and json.loads(json.dumps(exp)) != got):
        fails += 1
        print("HEADER MISMATCH", repr(header)); print(" exp", json.dumps(exp)); print(" got", json.dumps(got))
def jwt_cases(fails):
    def b64(s): return base64.urlsafe_b64encode(s.encode()).decode()
    payloads = ['{"sub":"u","exp":1}', '[1,2]', '"x"', '{"a":', '{"sub": "\u00e9"}', '', 'null']
    for i in range(N * 4):
        parts = []
        for _ in range(rnd.randint(1, 4)):
            p = b64(rnd.choice(payloads))
            r = rnd.random()
            if r < 0.3: p = p.rstrip("=")
            elif r < 0.4: p = p + "=" * rnd.randint(1, 3)
            elif r < 0.5: p = p[:rnd.randint(0, len(p))]
            elif r < 0.55: p = p + rnd.choice(["!", "\n", " ", "+", "/", "é"])
            elif r < 0.6: p = p.rstrip("=") + "=" * rnd.randint(0,3) + "a"
            parts.append(p)
        tok = ".".join(parts)
        if "\x00" in tok: continue
        try:
            exp = {"payload": JWT.get_info(tok)}
        except Exception as ex:
            exp = {"error": str(ex)}
        got = json.loads(subprocess.run([BIN, "jwt", tok], capture_output=True, text=True).stdout)
        if ("error" in exp) != ("error" in got) or ("payload" in exp and exp["payload"] != got["payload"]):
            fails += 1
            print("JWT MISMATCH", repr(tok), exp, got)
    return fails

fails = jwt_cases(fails)
import shutil
shutil.rmtree(TMP, ignore_errors=True)
print("done, mismatches:", fails)
sys.exit(1 if fails else 0)
