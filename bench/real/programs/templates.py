"""A template engine without regular expressions: lexer, parser to a node tree, and renderer.

Templates use {{ expr|filter:arg }} substitutions with dotted lookups, {% for x in seq %} loops
with a `loop` helper object, {% if %}/{% elif %}/{% else %} blocks and {# comments #}. Filters are
registered with a decorator. Templates are compiled once, cached, and rendered for many invoices
built from seeded random data; the text of each invoice feeds a checksum.
Usage: templates.py [INVOICES_IN_TENS]
"""
from __future__ import annotations

import random
import sys
import zlib
from collections import ChainMap
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

DEFAULT_SIZE = 1000  # tens of invoices rendered

FILTERS: Dict[str, Callable[..., Any]] = {}


def template_filter(name: Optional[str] = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        FILTERS[name or func.__name__] = func
        return func
    return register


@template_filter()
def upper(value: Any) -> str:
    return str(value).upper()


@template_filter()
def title(value: Any) -> str:
    return str(value).title()


@template_filter("money")
def money(value: Any, currency: str = "NGN") -> str:
    return f"{currency} {value:,.2f}"


@template_filter()
def pad(value: Any, width: str = "10") -> str:
    return str(value).ljust(int(width))


@template_filter()
def rpad(value: Any, width: str = "10") -> str:
    return str(value).rjust(int(width))


@template_filter()
def default(value: Any, fallback: str = "") -> Any:
    return value if value not in (None, "") else fallback


@template_filter()
def length(value: Any) -> int:
    return len(value)


class TemplateError(Exception):
    pass


class Text:
    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, ctx: Mapping[str, Any], out: List[str]) -> None:
        out.append(self.text)


class Expression:
    def __init__(self, source: str) -> None:
        parts = [p.strip() for p in source.split("|")]
        self.path = parts[0].split(".")
        self.filters: List[Tuple[Callable[..., Any], List[str]]] = []
        for f in parts[1:]:
            name, _, arg = f.partition(":")
            if name not in FILTERS:
                raise TemplateError(f"unknown filter {name!r}")
            self.filters.append((FILTERS[name], [a.strip().strip("'\"") for a in arg.split(",")] if arg else []))

    def evaluate(self, ctx: Mapping[str, Any]) -> Any:
        head, *rest = self.path
        if head.isdigit():
            value: Any = int(head)
        else:
            try:
                value = ctx[head]
            except KeyError:
                raise TemplateError(f"undefined variable {head!r}") from None
        for attr in rest:
            value = value[attr] if isinstance(value, Mapping) else getattr(value, attr)
        for func, args in self.filters:
            value = func(value, *args)
        return value

    def render(self, ctx: Mapping[str, Any], out: List[str]) -> None:
        out.append(str(self.evaluate(ctx)))


class LoopInfo:
    def __init__(self, length: int) -> None:
        self.length = length
        self.index = 0

    @property
    def first(self) -> bool:
        return self.index == 0

    @property
    def last(self) -> bool:
        return self.index == self.length - 1

    @property
    def number(self) -> int:
        return self.index + 1


class For:
    def __init__(self, var: str, seq: Expression, body: List[Any]) -> None:
        self.var, self.seq, self.body = var, seq, body

    def render(self, ctx: Mapping[str, Any], out: List[str]) -> None:
        items = list(self.seq.evaluate(ctx))
        info = LoopInfo(len(items))
        for i, item in enumerate(items):
            info.index = i
            inner = ChainMap({self.var: item, "loop": info}, ctx)
            for node in self.body:
                node.render(inner, out)


class If:
    def __init__(self) -> None:
        self.branches: List[Tuple[Optional[Expression], List[Any]]] = []

    def render(self, ctx: Mapping[str, Any], out: List[str]) -> None:
        for cond, body in self.branches:
            if cond is None or cond.evaluate(ctx):
                for node in body:
                    node.render(ctx, out)
                return


def tokenize(source: str) -> List[Tuple[str, str]]:
    """Split into ("text", s), ("expr", s) and ("tag", s) tokens with str.find only."""
    tokens: List[Tuple[str, str]] = []
    pos = 0
    while pos < len(source):
        starts = [(source.find(opener, pos), opener) for opener in ("{{", "{%", "{#")]
        starts = [(i, o) for i, o in starts if i >= 0]
        if not starts:
            tokens.append(("text", source[pos:]))
            break
        start, opener = min(starts)
        if start > pos:
            tokens.append(("text", source[pos:start]))
        closer = {"{{": "}}", "{%": "%}", "{#": "#}"}[opener]
        end = source.find(closer, start + 2)
        if end < 0:
            raise TemplateError(f"unclosed {opener} at offset {start}")
        inner = source[start + 2:end].strip()
        if opener == "{{":
            tokens.append(("expr", inner))
        elif opener == "{%":
            tokens.append(("tag", inner))
        pos = end + 2
        line_start = source.rfind("\n", 0, start) + 1
        alone = not source[line_start:start].strip()
        if opener != "{{" and alone and source.startswith("\n", pos):
            pos += 1  # a line holding only a tag or comment leaves no blank line behind
    return tokens


def parse(tokens: List[Tuple[str, str]]) -> List[Any]:
    root: List[Any] = []
    stack: List[Tuple[str, Any, List[Any]]] = []
    current = root
    for kind, value in tokens:
        if kind == "text":
            current.append(Text(value))
        elif kind == "expr":
            current.append(Expression(value))
        else:
            word, _, rest = value.partition(" ")
            if word == "for":
                var, _, seq = rest.partition(" in ")
                node = For(var.strip(), Expression(seq), [])
                current.append(node)
                stack.append(("for", node, current))
                current = node.body
            elif word == "if":
                node = If()
                node.branches.append((Expression(rest), []))
                current.append(node)
                stack.append(("if", node, current))
                current = node.branches[-1][1]
            elif word in ("elif", "else"):
                if not stack or stack[-1][0] != "if":
                    raise TemplateError(f"{word} outside if")
                node = stack[-1][1]
                node.branches.append((Expression(rest) if word == "elif" else None, []))
                current = node.branches[-1][1]
            elif word in ("endfor", "endif"):
                if not stack or stack[-1][0] != word[3:]:
                    raise TemplateError(f"unexpected {word}")
                _, _, current = stack.pop()
            else:
                raise TemplateError(f"unknown tag {word!r}")
    if stack:
        raise TemplateError(f"unclosed {stack[-1][0]}")
    return root


class Template:
    _cache: Dict[str, Template] = {}

    def __init__(self, source: str) -> None:
        self.nodes = parse(tokenize(source))

    @classmethod
    def compile(cls, source: str) -> Template:
        if source not in cls._cache:
            cls._cache[source] = cls(source)
        return cls._cache[source]

    def render(self, **context: Any) -> str:
        out: List[str] = []
        for node in self.nodes:
            node.render(context, out)
        return "".join(out)


INVOICE = """INVOICE {{ invoice.number }} for {{ customer.name|title }}
{# the address block is optional #}
{% if customer.city %}
City: {{ customer.city|upper }}
{% else %}
City: (none)
{% endif %}
{% for line in lines %}
{{ loop.number|rpad:3 }}. {{ line.item|pad:18 }} {{ line.qty|rpad:4 }} x {{ line.price|money }}{% if line.discount %} (-{{ line.discount }}%){% endif %}
{% endfor %}
{% if total_big %}
Total: {{ total|money:USD }} -- a large order
{% elif total %}
Total: {{ total|money:USD }}
{% else %}
Nothing to pay.
{% endif %}
Notes: {{ notes|default:'none' }} ({{ lines|length }} lines)
"""

ITEMS = ["kola nuts", "groundnut oil", "indigo cloth", "leather bag", "brass bowl", "millet", "shea butter"]
CITIES = ["kano", "zaria", "katsina", "", "sokoto", "maiduguri"]


def main(tens: int) -> None:
    rng = random.Random(77)
    checksum = 0
    chars = 0
    for n in range(tens * 10):
        lines = [{"item": rng.choice(ITEMS), "qty": rng.randrange(1, 20), "price": rng.randrange(100, 99999) / 100,
                  "discount": rng.choice([0, 0, 5, 10])} for _ in range(rng.randrange(0, 12))]
        total = sum(line["qty"] * line["price"] * (100 - line["discount"]) / 100 for line in lines)
        text = Template.compile(INVOICE).render(
            invoice={"number": f"INV-{n:05d}"},
            customer={"name": f"customer {rng.randrange(1000)}", "city": rng.choice(CITIES)},
            lines=lines, total=round(total, 2), total_big=total > 5000,
            notes=rng.choice(["", "deliver before Friday", None]))
        if n == 0:
            print(text, end="")
        chars += len(text)
        checksum = zlib.crc32(text.encode("utf-8"), checksum)
    for bad in ("{% for x in xs %}no end", "{{ x|nosuch }}", "{% endif %}", "{{ open"):
        try:
            Template(bad)
            print(f"{bad!r}: accepted?!")
        except TemplateError as e:
            print(f"{bad!r}: {e}")
    print(f"{tens * 10} invoices, {chars} characters, {len(Template._cache)} compiled template(s)")
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
