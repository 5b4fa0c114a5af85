"""Creates infrastructures with the Python IM 2.0's own core (in process, no
server, so no port is shared with the peer) in the database named by argv[1]
(a SQLite path or a mysql:// URL), then prints their ids and states as JSON.

Three infrastructures with the Dummy cloud: `running` (2 VMs), `stopped`
(1 VM, stopped) and `destroyed` (a tombstone, deleted = 1).
Used by crates/im/tests/adopt.rs.
"""
import json, sys, os, time
db = sys.argv[1]
os.environ["IM_DATA_DB"] = db
from IM.config import Config
Config.DATA_DB = db
from IM.InfrastructureManager import InfrastructureManager as IM
from IM.InfrastructureList import InfrastructureList
from IM.auth import Authentication
InfrastructureList.load_data()
auth = Authentication(Authentication.read_auth_data([
    "type = InfrastructureManager; username = refuser; password = refpass",
    "id = dummy; type = Dummy"]))
R = "network publica (outbound = 'yes')\nsystem front (cpu.count>=1 and memory.size>=512m and net_interface.0.connection = 'publica' and disk.0.os.name = 'linux' and disk.0.image.url = 'mock0://linux.for.ev.er')\ndeploy front %d\ncontextualize ()"
a = IM.CreateInfrastructure(R % 2, auth)
b = IM.CreateInfrastructure(R % 1, auth)
c = IM.CreateInfrastructure(R % 1, auth)
IM.StopInfrastructure(b, auth)
tomb = InfrastructureList.get_infrastructure(c)
IM.DestroyInfrastructure(c, auth)
out = {
    "running": [a, IM.GetInfrastructureState(a, auth)],
    "stopped": [b, IM.GetInfrastructureState(b, auth)],
    "destroyed": [c, None],
}
InfrastructureList.save_data()
# The reference drops a destroyed infrastructure from memory after one try
# at saving its tombstone, and that save does not always land: 2 of 20 runs
# of this script left `deleted = 0` in inf_list (its own lost update, with
# nothing on stderr). Write the tombstone again through its own save path, so
# that the case starts from what the reference meant to leave behind.
for _ in range(50):
    if tomb.deleted and InfrastructureList._save_data_to_db(Config.DATA_DB, {c: tomb}, c):
        break
    time.sleep(0.1)
else:
    sys.exit("the reference could not save the tombstone of %s" % c)
print(json.dumps(out))
os._exit(0)
