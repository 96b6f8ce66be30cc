"""Damaged copies of a torch.save archive (for torch-checkpoints.test):
    damage_checkpoint.py CHECKPOINT OUT_DIR
  cut.pt        data.pkl cut in the middle of an opcode
  nostorage.pt  the member of storage 2 left out
  opcode.pt     data.pkl starting with an opcode torch.save never writes
  short.pt      storage 0's member cut to half its elements"""
import os
import sys
import zipfile

src, out = sys.argv[1:3]
members = {}
with zipfile.ZipFile(src) as z:
    for info in z.infolist():
        members[info.filename] = z.read(info)
pickle = next(n for n in members if n.endswith("/data.pkl"))
root = pickle[: -len("data.pkl")]


def write(name, changed, drop=()):
    with zipfile.ZipFile(os.path.join(out, name), "w") as z:
        for n, data in members.items():
            if n not in drop:
                z.writestr(n, changed.get(n, data))


data = members[pickle]
write("cut.pt", {pickle: data[:35]})
write("nostorage.pt", {}, drop=(root + "data/2",))
write("opcode.pt", {pickle: b"i" + data})
write("short.pt", {root + "data/0": members[root + "data/0"][:200]})
