# Prints what the reference IM 2.0 makes of an im.cfg file: IM/config.py run
# with its config.read() pointed at argv[1]. Used by the config unit tests
# (crates/im/src/config/tests.rs) through IM_REF_PYTHON.
import importlib.util, json, logging, os, sys
origin = importlib.util.find_spec("IM.config").origin
src = open(origin).read()
old = "config.read([Config.IM_PATH + '/../im.cfg', Config.IM_PATH +\n             '/../etc/im.cfg', '/etc/im/im.cfg'])"
if old not in src:
    print(json.dumps({"fatal": "IM/config.py changed: cannot redirect its config.read"}))
    sys.exit(0)
src = src.replace(old, "config.read([%r])" % sys.argv[1])
warnings = []
class Collect(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage().rsplit(": ", 1)[-1])
log = logging.getLogger("InfrastructureManager")
log.addHandler(Collect())
log.propagate = False
os.environ.pop("IM_DATA_DB", None)
scope = {"__file__": origin, "__name__": "im_config_probe"}
try:
    exec(compile(src, origin, "exec"), scope)
except Exception as e:
    print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
    sys.exit(0)
def dump(cls):
    return {k: v for k, v in vars(cls).items() if k.isupper() and not k.startswith("_")}
print(json.dumps({"im": dump(scope["Config"]), "OpenNebula": dump(scope["ConfigOpenNebula"]), "warnings": warnings}))
