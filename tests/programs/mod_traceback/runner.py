from tools.parse import number


def run(items):
    total = 0
    for item in items:
        total += number(item)
        print("running total", total)
    return total
