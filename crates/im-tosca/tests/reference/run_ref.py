"""Runs the reference IM 2.0.0 Tosca converter (tosca-parser 2.15.0) offline.

usage: run_ref.py MIRROR OUTDIR CHILD [PARENT...]
Writes OUTDIR/<name>.yml (the merged document) and OUTDIR/<name>.radl or .err.
"""
import io, os, sys, uuid, json, yaml, copy
sys.path.insert(0, '/var/tmp/tosca-ref/pkg')
mirror, outdir, child, parents = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

import urllib.request, urllib.error
def fake_urlopen(url, *a, **k):
    if hasattr(url, 'full_url'):
        url = url.full_url
    p = os.path.join(mirror, url.split('://', 1)[1])
    if not os.path.isfile(p):
        raise urllib.error.URLError('Not Found')
    return io.BytesIO(open(p, 'rb').read())
urllib.request.urlopen = fake_urlopen
import toscaparser.utils.urlutils as uu
uu.UrlUtils.url_exists = staticmethod(lambda url: os.path.isfile(os.path.join(mirror, url.split('://', 1)[1])) if '://' in url else False)

import requests_cache
class R:
    def __init__(self, code, text):
        self.status_code, self.text, self.reason = code, text, 'Not Found' if code != 200 else 'OK'
def fake_get(self, url, timeout=None):
    p = os.path.join(mirror, url.split('://', 1)[1])
    if not os.path.isfile(p):
        return R(404, 'Not Found')
    return R(200, open(p).read())
requests_cache.CachedSession.get = fake_get
import uuid as _u
uuid.uuid1 = lambda *a, **k: _u.UUID('12345678-0000-0000-0000-000000000000')
import IM.tosca.Tosca as T
T.uuid1 = uuid.uuid1

from IM.tosca.Tosca import Tosca
doc = None
for p in parents:
    d = yaml.safe_load(open(p))
    doc = d if doc is None else Tosca._merge_yaml(doc, d)
c = yaml.safe_load(open(child))
doc = c if doc is None else Tosca._merge_yaml(doc, c)
name = os.path.basename(child).rsplit('.', 1)[0]
if parents:
    name += '__on__' + '_'.join(os.path.basename(p).rsplit('.', 1)[0] for p in parents)
text = yaml.safe_dump(doc)
open(os.path.join(outdir, name + '.yml'), 'w').write(text)
try:
    try:
        t = Tosca(text)
    except Exception as e:
        # The IM ships a tosca-parser fork that accepts HOST through capabilities.
        if 'get_attribute: [ HOST' not in str(e):
            raise
        t = Tosca(text, False)
    removal, radl = t.to_radl()
    open(os.path.join(outdir, name + '.radl'), 'w').write(str(radl))
except Exception as e:
    open(os.path.join(outdir, name + '.err'), 'w').write(str(e))
