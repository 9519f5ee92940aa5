# A .py module next to the main file: Tauraro runs it too.
def triangle(n):
    return n * (n + 1) // 2


def loop_sum(n):
    s = 0
    i = 0
    while i < n:
        s += i * i % 13
        i += 1
    return s
