"""An evaluator of ``explain``'s plugged-in formulas, written apart from sheetnet's code: the
book's notation with numbers (``(1.5·(−0.05) + 1.3·0.09)·0.31·(1 − 0.31)``) is parsed and computed
here as a spreadsheet computes it, so that the explanation's numbers can be checked against the
value the cell stores.

Spreadsheet semantics kept: ``−2^2`` is 4 (a sign binds tighter than ^), an empty cell (∅) is 0
in arithmetic and ignored by SUM, AVERAGE and the criteria functions, arrays combine cell by
cell, TRUE is 1 in arithmetic.
"""

from __future__ import annotations

import math
import re

BLANK = object()
_TOKEN = re.compile(
    r'\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|nan)'
    r'|(?P<str>"(?:[^"]|"")*")'
    r'|(?P<func>[A-Za-z_][\w.]*)\('
    r'|(?P<word>TRUE|FALSE)'
    r'|(?P<blank>∅)'
    r'|(?P<error>#[A-Z/0!?]+[!?A]?)'
    r'|(?P<op><>|<=|>=|[-−+*·/^&=≠≤≥<>(),;{}%]))')


class Error(Exception):
    pass


class Failed:
    """An argument whose evaluation failed (IF may not need it)."""

    def __init__(self, error: Error):
        self.error = error


def tokens(text: str) -> list[tuple[str, str]]:
    out, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            if text[i:].strip() == "":
                break
            raise Error(f"cannot read {text[i:i + 30]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        i = m.end()
    return out


class Parser:
    def __init__(self, text: str):
        self.toks = tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, text: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (text is not None and tok[1] != text):
            raise Error(f"expected {text!r}, got {tok!r}")
        self.i += 1
        return tok

    def parse(self):
        value = self.comparison()
        if self.peek() is not None:
            raise Error(f"left over: {self.toks[self.i:][:5]}")
        return value

    def comparison(self):
        left = self.concat()
        while (tok := self.peek()) and tok[1] in ("=", "≠", "<>", "<", ">", "≤", "≥", "<=", ">="):
            self.take()
            left = elementwise(lambda a, b, op=tok[1]: compare(a, b, op), left, self.concat())
        return left

    def concat(self):
        left = self.additive()
        while (tok := self.peek()) and tok[1] == "&":
            self.take()
            left = elementwise(lambda a, b: text(a) + text(b), left, self.additive())
        return left

    def additive(self):
        left = self.term()
        while (tok := self.peek()) and tok[1] in ("+", "-", "−"):
            self.take()
            right = self.term()
            if tok[1] == "+":
                left = elementwise(lambda a, b: num(a) + num(b), left, right)
            else:
                left = elementwise(lambda a, b: num(a) - num(b), left, right)
        return left

    def term(self):
        left = self.power()
        while (tok := self.peek()) and tok[1] in ("*", "·", "/"):
            self.take()
            right = self.power()
            if tok[1] == "/":
                left = elementwise(divide, left, right)
            else:
                left = elementwise(lambda a, b: num(a) * num(b), left, right)
        return left

    def power(self):
        left = self.unary()
        while (tok := self.peek()) and tok[1] == "^":
            self.take()
            left = elementwise(lambda a, b: num(a) ** num(b), left, self.unary())
        return left

    def unary(self):
        tok = self.peek()
        if tok is not None and tok[1] in ("-", "−", "+"):
            self.take()
            value = self.unary()
            return value if tok[1] == "+" else elementwise(lambda a: -num(a), value)
        value = self.primary()
        if (tok := self.peek()) and tok[1] == "%":
            self.take()
            value = elementwise(lambda a: num(a) / 100, value)
        return value

    def argument(self):
        """A function's argument: an error in it is kept, for IF chooses before it fails."""
        start = self.i
        try:
            return self.comparison()
        except Error as e:
            self.i = start
            self.skip()
            return Failed(e)

    def skip(self) -> None:
        """Past one argument (to the next , or the closing parenthesis at its level)."""
        depth = 0
        while (tok := self.peek()) is not None:
            if tok[1] in ("(", "{") or tok[0] == "func":
                depth += 1
            elif tok[1] in (")", "}"):
                if depth == 0:
                    return
                depth -= 1
            elif tok[1] == "," and depth == 0:
                return
            self.i += 1

    def primary(self):
        kind, value = self.take()
        if kind == "num":
            return float(value)
        if kind == "str":
            return value[1:-1].replace('""', '"')
        if kind == "word":
            return value == "TRUE"
        if kind == "blank":
            return BLANK
        if kind == "error":
            raise Error(value)
        if kind == "func":
            args = []
            if self.peek() != ("op", ")"):
                args.append(self.argument())
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.argument())
            self.take(")")
            if value.upper() != "IF":
                for a in args:
                    if isinstance(a, Failed):
                        raise a.error
            return call(value.upper(), args)
        if value == "(":
            inner = self.comparison()
            self.take(")")
            return inner
        if value == "{":
            rows, row = [], [self.comparison()]
            while True:
                sep = self.take()[1]
                if sep == ",":
                    row.append(self.comparison())
                elif sep == ";":
                    rows.append(row)
                    row = [self.comparison()]
                elif sep == "}":
                    rows.append(row)
                    return rows
                else:
                    raise Error(f"unexpected {sep!r} in an array")
        raise Error(f"unexpected {value!r}")


# --- values --------------------------------------------------------------------------------

def is_array(v) -> bool:
    return isinstance(v, list)


def elementwise(f, *args):
    arrays = [a for a in args if is_array(a)]
    if not arrays:
        return f(*args)
    rows, cols = max(len(a) for a in arrays), max(len(a[0]) for a in arrays)

    def at(a, r, c):
        if not is_array(a):
            return a
        return a[r if len(a) > 1 else 0][c if len(a[0]) > 1 else 0]

    return [[f(*(at(a, r, c) for a in args)) for c in range(cols)] for r in range(rows)]


def flat(v) -> list:
    return [x for row in v for x in row] if is_array(v) else [v]


def num(v) -> float:
    if v is BLANK:
        return 0.0
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise Error(f"#VALUE! ({v!r})") from None
    raise Error(f"not a number: {v!r}")


def text(v) -> str:
    if v is BLANK:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return repr(int(v)) if v.is_integer() else repr(v)
    return str(v)


def divide(a, b) -> float:
    if num(b) == 0:
        raise Error("#DIV/0!")
    return num(a) / num(b)


def compare(a, b, op: str) -> bool:
    if a is BLANK:
        a = "" if isinstance(b, str) else 0.0
    if b is BLANK:
        b = "" if isinstance(a, str) else 0.0
    if isinstance(a, str) and isinstance(b, str):
        a, b = a.lower(), b.lower()
    elif isinstance(a, str) != isinstance(b, str):  # text is greater than any number
        a, b = (1, 0) if isinstance(a, str) else (0, 1)
    else:
        a, b = num(a), num(b)
    return {"=": a == b, "≠": a != b, "<>": a != b, "<": a < b, ">": a > b, "≤": a <= b,
            "<=": a <= b, "≥": a >= b, ">=": a >= b}[op]


def numbers(v) -> list[float]:
    """What SUM, AVERAGE, MAX and COUNT take from an argument: its numbers (a range's text,
    booleans and empty cells left out)."""
    return [float(x) for x in flat(v) if isinstance(x, (int, float)) and not isinstance(x, bool)]


def criterion(c):
    """A criteria function's test of one cell."""
    if isinstance(c, str):
        m = re.fullmatch(r"(<>|<=|>=|<|>|=)?(.*)", c)
        op, operand = m.group(1) or "=", m.group(2)
        try:
            target: object = float(operand)
        except ValueError:
            target = operand
        if op == "<>":
            return lambda x: x is BLANK or not compare(x, target, "=")
        if isinstance(target, float):
            return lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) \
                and compare(x, target, op)
        return lambda x: compare(x, target, op)
    return lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and x == num(c)


def matches(pairs) -> list[bool]:
    out = None
    for rng, crit in pairs:
        test = criterion(crit)
        hits = [bool(test(x)) for x in flat(rng)]
        out = hits if out is None else [a and b for a, b in zip(out, hits, strict=True)]
    return out or []


def call(name: str, args: list):
    f = FUNCTIONS.get(name)
    if f is None:
        raise Error(f"no function {name}")
    return f(*args)


def _sumproduct(*arrays):
    cols = [flat(a) for a in arrays]
    total = 0.0
    for items in zip(*cols, strict=True):
        product = 1.0
        for x in items:
            product *= x if isinstance(x, (int, float)) and not isinstance(x, bool) else 0.0
        total += product
    return total


def _match(value, rng, kind=1.0):
    items = flat(rng)
    if num(kind) != 0:
        raise Error("MATCH of an approximate kind")
    for k, x in enumerate(items):
        if compare(x, value, "="):
            return float(k + 1)
    raise Error("#N/A")


def _index(rng, row, col=1.0):
    """INDEX of a one-column (or one-row) range: its row-th cell, counted from 1."""
    items = flat(rng)
    k = int(num(row)) if num(col) == 1 else int(num(col))
    if not 1 <= k <= len(items):
        raise Error("#REF!")
    return items[k - 1]


def _if(cond, yes, no=False):
    if isinstance(cond, Failed):
        raise cond.error

    def pick(c, a, b):
        chosen = a if truth(c) else b
        if isinstance(chosen, Failed):
            raise chosen.error
        return chosen

    return elementwise(pick, cond, yes, no)


def truth(v) -> bool:
    if isinstance(v, str):
        raise Error("#VALUE! (text as a condition)")
    return num(v) != 0


def _average(*args):
    values = [x for a in args for x in numbers(a)]
    if not values:
        raise Error("#DIV/0!")
    return sum(values) / len(values)


def _sumif(rng, crit, total=None):
    total = rng if total is None else total
    return sum(num(x) for x, hit in zip(flat(total), matches([(rng, crit)]), strict=True)
               if hit and isinstance(x, (int, float)) and not isinstance(x, bool))


def _averageif(rng, crit, total=None):
    total = rng if total is None else total
    picked = [x for x, hit in zip(flat(total), matches([(rng, crit)]), strict=True)
              if hit and isinstance(x, (int, float)) and not isinstance(x, bool)]
    if not picked:
        raise Error("#DIV/0!")
    return sum(picked) / len(picked)


def _sumifs(total, *pairs):
    hits = matches(list(zip(pairs[0::2], pairs[1::2], strict=True)))
    return sum(num(x) for x, hit in zip(flat(total), hits, strict=True)
               if hit and isinstance(x, (int, float)) and not isinstance(x, bool))


def _averageifs(total, *pairs):
    hits = matches(list(zip(pairs[0::2], pairs[1::2], strict=True)))
    picked = [x for x, hit in zip(flat(total), hits, strict=True)
              if hit and isinstance(x, (int, float)) and not isinstance(x, bool)]
    if not picked:
        raise Error("#DIV/0!")
    return sum(picked) / len(picked)


def _scalar(f):
    return lambda *args: elementwise(lambda *xs: f(*map(num, xs)), *args)


FUNCTIONS = {
    "SUM": lambda *a: sum(x for v in a for x in numbers(v)),
    "SUMSQ": lambda *a: sum(x * x for v in a for x in numbers(v)),
    "SUMPRODUCT": _sumproduct,
    "SUMXMY2": lambda a, b: sum((num(x) - num(y)) ** 2 for x, y in zip(flat(a), flat(b),
                                                                        strict=True)),
    "AVERAGE": _average,
    "COUNT": lambda *a: float(sum(len(numbers(v)) for v in a)),
    "MAX": lambda *a: max((x for v in a for x in numbers(v)), default=0.0),
    "MIN": lambda *a: min((x for v in a for x in numbers(v)), default=0.0),
    "SUMIF": _sumif,
    "SUMIFS": _sumifs,
    "AVERAGEIF": _averageif,
    "AVERAGEIFS": _averageifs,
    "COUNTIF": lambda rng, crit: float(sum(matches([(rng, crit)]))),
    "COUNTIFS": lambda *p: float(sum(matches(list(zip(p[0::2], p[1::2], strict=True))))),
    "IF": _if,
    "AND": lambda *a: all(truth(x) for v in a for x in flat(v)),
    "OR": lambda *a: any(truth(x) for v in a for x in flat(v)),
    "NOT": lambda a: elementwise(lambda x: not truth(x), a),
    "MATCH": _match,
    "INDEX": _index,
    "EXACT": lambda a, b: elementwise(lambda x, y: text(x) == text(y), a, b),
    "TANH": _scalar(math.tanh),
    "EXP": _scalar(math.exp),
    "LN": _scalar(math.log),
    "LOG": _scalar(lambda x, base=10.0: math.log(x, base)),
    "SQRT": _scalar(math.sqrt),
    "ABS": _scalar(abs),
    "SIGN": _scalar(lambda x: float((x > 0) - (x < 0))),
    "POWER": _scalar(lambda x, y: x ** y),
    "HYPERLINK": lambda link, shown=None: link if shown is None else shown,
}


def evaluate(text_: str):
    """The value of a plugged-in formula (a number, text or boolean)."""
    value = Parser(text_).parse()
    if is_array(value):
        if len(value) == 1 and len(value[0]) == 1:
            return value[0][0]
        raise Error("an array, not one value")
    return value
