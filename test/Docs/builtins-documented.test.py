"""Checks docs/language.md against the built-in table (Builtins.cpp) and the
lexer's keywords (Lexer.cpp); prints what is missing."""
import re
import sys

root = sys.argv[1]
table = open(root + "/frontends/dsl/Builtins.cpp").read()
lexer = open(root + "/frontends/dsl/Lexer.cpp").read()
docs = open(root + "/docs/language.md").read()
names = re.findall(r'\.Case\("([a-z_0-9]+)", Builtin::', table)
missing = [n for n in names if "`%s(" % n not in docs]
keywords = re.findall(r'\.Case\("([a-z]+)", Tok::Kw', lexer)
reserved = docs[docs.index("Reserved words"):][:400]
missing += ["reserved word " + k for k in keywords if "`%s`" % k not in reserved]
if not names or not keywords:
    print("could not read the tables")
elif missing:
    print("undocumented: " + ", ".join(missing))
else:
    print("all built-ins documented")
