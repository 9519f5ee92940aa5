from ..util import text as _text


def total(n):
    return sum(range(n)) + len(_text.shout(""))
