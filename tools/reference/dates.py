"""Generator of human-readable dates and their ISO form, in the spirit of
seed 000's data (Faker dates in many formats, lowercased, commas removed).

Independent of Heed: used to train the date translator and to build the
held-out set it is scored on."""
import datetime
import random

MONTHS = ["january", "february", "march", "april", "may", "june", "july",
          "august", "september", "october", "november", "december"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
        "sunday"]

# 37 input symbols as in the seed: the characters of dates written in these
# formats, then <unk> and <pad>. 11 output symbols: '-' and the digits.
HUMAN_VOCAB = ([" ", ".", "/"] + [str(d) for d in range(10)] +
               sorted(set("".join(MONTHS + DAYS))) + ["<unk>", "<pad>"])
MACHINE_VOCAB = ["-"] + [str(d) for d in range(10)]
TX, TY = 30, 10

FIRST = datetime.date(1950, 1, 1).toordinal()
LAST = datetime.date(2049, 12, 31).toordinal()


def _yy(d):
    return f"{d.year % 100:02d}"


# Each format is unambiguous on its own: two-digit years pivot at 50
# (00-49 -> 20xx, 50-99 -> 19xx); slashes are month/day/year (US "short"),
# dots and spaces are day-month-year.
FORMATS = [
    lambda d: f"{d.month}/{d.day}/{_yy(d)}",                      # short
    lambda d: f"{MONTHS[d.month - 1][:3]} {d.day} {d.year}",       # medium
    lambda d: f"{MONTHS[d.month - 1]} {d.day} {d.year}",           # long
    lambda d: f"{DAYS[d.weekday()]} {MONTHS[d.month - 1]} {d.day} {d.year}",  # full
    lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",       # d MMM YYY
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",           # d MMMM YYY
    lambda d: f"{d.day:02d} {MONTHS[d.month - 1][:3]} {d.year}",   # dd MMM YYY
    lambda d: f"{d.day:02d} {MONTHS[d.month - 1]} {d.year}",       # dd MMMM YYY
    lambda d: f"{d.day} {d.month:02d} {_yy(d)}",                   # d MM YY
    lambda d: f"{d.day:02d}.{d.month:02d}.{_yy(d)}",               # dd.MM.YY
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",               # dd.MM.YYYY
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",               # YYYY/MM/DD
    lambda d: f"{DAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3]} {d.year}",
]


def random_date(rng):
    d = datetime.date.fromordinal(rng.randint(FIRST, LAST))
    return rng.choice(FORMATS)(d), d.isoformat()


def dataset(n, seed):
    rng = random.Random(seed)
    return [random_date(rng) for _ in range(n)]


def encode_human(text):
    index = {c: i for i, c in enumerate(HUMAN_VOCAB)}
    ids = [index.get(c, index["<unk>"]) for c in text[:TX]]
    return ids + [index["<pad>"]] * (TX - len(ids))


def encode_machine(text):
    return [MACHINE_VOCAB.index(c) for c in text]
