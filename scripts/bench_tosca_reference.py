"""The reference's TOSCA -> RADL conversion timed in-process (scripts/bench-tosca).

usage: bench_tosca_reference.py MIRROR ITERATIONS FILE...

For each FILE: `Tosca(text).to_radl()` of IM 2.0 (tosca-parser 2.15.0), run
ITERATIONS times after one warm-up run; prints one JSON line per file with the
minimum and the median in microseconds. Interpreter start-up and imports are
not timed. Network reads are served from MIRROR (`https://HOST/PATH` ->
MIRROR/HOST/PATH), as the fixtures were generated; `tosca_tls.yml` is
converted without validation (the IM ships a parser fork that accepts it) and
`tosca_repo.yml` with the grycap/tosca repository, as in the fixtures.
"""
import io
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request

mirror, iterations, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]


def _local(url):
    return os.path.join(mirror, url.split('://', 1)[1]) if '://' in url else ''


def fake_urlopen(url, *a, **k):
    if hasattr(url, 'full_url'):
        url = url.full_url
    p = _local(url)
    if not os.path.isfile(p):
        raise urllib.error.URLError('Not Found')
    with open(p, 'rb') as f:
        return io.BytesIO(f.read())


urllib.request.urlopen = fake_urlopen
import toscaparser.utils.urlutils as uu  # noqa: E402
uu.UrlUtils.url_exists = staticmethod(lambda url: os.path.isfile(_local(url)))

import requests_cache  # noqa: E402


class _Resp:
    def __init__(self, code, text):
        self.status_code, self.text = code, text
        self.reason = 'OK' if code == 200 else 'Not Found'


def fake_get(self, url, timeout=None, **k):
    p = _local(url)
    if not os.path.isfile(p):
        return _Resp(404, 'Not Found')
    with open(p) as f:
        return _Resp(200, f.read())


requests_cache.CachedSession.get = fake_get
from IM.tosca.Tosca import Tosca  # noqa: E402

REPO = 'https://raw.githubusercontent.com/grycap/tosca/main/templates/'

for path in files:
    name = os.path.basename(path)
    with open(path) as f:
        text = f.read()
    verify = name != 'tosca_tls.yml'
    repo = REPO if name == 'tosca_repo.yml' else None

    def convert():
        return Tosca(text, verify, tosca_repo=repo).to_radl()

    try:
        convert()
    except Exception as e:  # reported, not timed
        print(json.dumps({'file': name, 'error': str(e).splitlines()[0]}), flush=True)
        continue
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        convert()
        times.append((time.perf_counter() - t0) * 1e6)
    print(json.dumps({'file': name, 'min_us': min(times), 'median_us': statistics.median(times),
                      'runs': iterations}), flush=True)
