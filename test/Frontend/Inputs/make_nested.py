"""Writes a model whose output expression nests or chains N levels deep:
make_nested.py KIND N OUT (KIND: minus, parens, calls, brackets, sum, loops)."""
import sys

kind, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
body = {
    "minus": lambda: "output y = " + "-" * n + "x",
    "parens": lambda: "output y = " + "(" * n + "x" + ")" * n,
    "calls": lambda: "output y = " + "tanh(" * n + "x" + ")" * n,
    "brackets": lambda: "output y = x + sum(" + "[" * n + "1" + "]" * n + ", 0)",
    "sum": lambda: "output y = " + " + ".join(["x"] * n),
    "loops": lambda: "".join("for t%d in range(2) carry (h = x) {\n" % i
                             for i in range(n)) + "}\n" * n + "output y = x",
}[kind]()
with open(out, "w") as f:
    f.write("model nested()\ninput x: [B, 4]\n" + body + "\n")
