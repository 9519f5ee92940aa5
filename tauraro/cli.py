"""Command line: `tauraro run|dis FILE`, `tauraro FILE`, `tauraro -c CODE`, and the REPL."""
from __future__ import annotations

import argparse
import codeop
import json
import os
import sys
from typing import Any, Sequence

from . import __version__
from .errors import TauraroError, TauraroRuntimeError, TauraroSyntaxError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPT = 0, 1, 2, 130
DUMP_KINDS = ("bytecode", "ir", "snapshots", "llvm", "asm", "wat")


class UsageError(Exception):
    """A bad command line: reported as one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default=os.environ.get("TAURARO_BACKEND", "cranelift"),
                   choices=["cranelift", "llvm", "ir", "interp"], help="execution backend (default: cranelift)")
    p.add_argument("--jit-threshold", type=int, default=None, metavar="N",
                   help="back-edges before a loop is compiled (default: measured; env TAURARO_JIT_THRESHOLD)")
    p.add_argument("--jit-log", action="store_true", help="one line per compile, abort, blacklist, exit storm")
    p.add_argument("--dump", default="", metavar="WHAT",
                   help=f"comma list of: {', '.join(DUMP_KINDS)} (printed on stderr)")
    p.add_argument("--stats", action="store_true", help="print JIT statistics on stderr at exit")
    p.add_argument("--stats-json", metavar="PATH", help="write JIT statistics as JSON at exit")
    p.add_argument("--no-cache", action="store_true", help="do not use the compiled-module cache")
    p.add_argument("--jit-code-budget", default=None, metavar="BYTES",
                   help="memory compiled loops may keep, e.g. 64M (default 64M; env TAURARO_JIT_CODE_BUDGET); "
                        "the least recently used are evicted beyond it")
    p.add_argument("--target", default=None, help="dump code for another target (e.g. aarch64)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="tauraro", description="Tauraro: Python syntax, Hausa keywords, a loop JIT.")
    parser.add_argument("--version", action="version", version=f"tauraro {__version__}")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run a program")
    run.add_argument("file", help="the .tr program ('-' reads standard input)")
    _add_run_options(run)
    dis = sub.add_parser("dis", help="print the register bytecode of every function")
    dis.add_argument("file")
    ccmd = sub.add_parser("exec", help="run the code given as an argument (same as -c)")
    ccmd.add_argument("code")
    _add_run_options(ccmd)
    repl = sub.add_parser("repl", help="interactive prompt")
    _add_run_options(repl)
    return parser


def _normalise_argv(argv: list[str]) -> list[str]:
    """`tauraro FILE ...` means run; `tauraro -c CODE ...` means exec; no arguments opens the REPL."""
    if not argv:
        return ["repl"]
    if argv[0] == "-c":
        return ["exec", *argv[1:]]
    if argv[0] in ("run", "dis", "exec", "repl", "-h", "--help", "--version"):
        return argv
    takes_value = {"--backend", "--jit-threshold", "--dump", "--stats-json", "--target", "--jit-code-budget"}
    positional = [a for i, a in enumerate(argv)
                  if not a.startswith("-") and not (i and argv[i - 1] in takes_value)]
    return ["run", *argv] if positional or "-" in argv else ["repl", *argv]


def _read_source(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"can't open file '{path}': {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"can't read file '{path}': not UTF-8 ({e.reason})") from None


def _run_options(args: argparse.Namespace) -> dict[str, Any]:
    dump = {d.strip() for d in args.dump.split(",") if d.strip()}
    unknown = dump - set(DUMP_KINDS)
    if unknown:
        raise UsageError(f"unknown --dump kind '{sorted(unknown)[0]}' (choose from {', '.join(DUMP_KINDS)})")
    threshold = args.jit_threshold
    if threshold is not None and threshold < 1:
        raise UsageError("--jit-threshold must be at least 1")
    budget = args.jit_code_budget
    if budget is not None:
        from .jit.budget import MIN_BUDGET, parse_bytes

        try:
            budget = parse_bytes(budget)
        except ValueError:
            raise UsageError(f"--jit-code-budget must be a number of bytes (suffixes K, M, G), not {budget!r}") from None
        if budget < MIN_BUDGET:
            raise UsageError(f"--jit-code-budget must be at least {MIN_BUDGET} bytes")
    return {"backend": args.backend, "jit_threshold": threshold, "dump": dump, "jit_log": args.jit_log,
            "use_cache": not args.no_cache, "target": args.target, "jit_code_budget": budget}


def _execute(source: str, filename: str, args: argparse.Namespace) -> int:
    from .api import run

    opts = _run_options(args)
    result = None
    status = EXIT_OK
    try:
        result = run(source, opts.pop("backend"), filename=filename, **opts)
    except TauraroRuntimeError as e:
        sys.stdout.flush()
        print(e.format(), file=sys.stderr)
        status = EXIT_ERROR
        result = getattr(e, "result", None)
    stats = result.stats if result is not None else getattr(sys.modules.get("tauraro.api"), "LAST_STATS", None)
    _report_stats(args, stats)
    return status


def _report_stats(args: argparse.Namespace, stats: Any) -> None:
    if stats is None:
        return
    if args.stats:
        print(stats.table(), file=sys.stderr)
    if args.stats_json:
        try:
            with open(args.stats_json, "w", encoding="utf-8") as f:
                json.dump(stats.to_json(), f, indent=2, sort_keys=True)
        except OSError as e:
            raise UsageError(f"can't write '{args.stats_json}': {e.strerror}") from None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        status = _main(argv)
    except UsageError as e:
        print(f"tauraro: error: {e}", file=sys.stderr)
        status = EXIT_USAGE
    except TauraroSyntaxError as e:
        sys.stdout.flush()
        print(e.format(), file=sys.stderr)
        status = EXIT_USAGE
    except TauraroError as e:
        sys.stdout.flush()
        print(f"tauraro: error: {e}", file=sys.stderr)
        status = EXIT_USAGE
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("Traceback (most recent call last):\nKeyboardInterrupt", file=sys.stderr)
        status = EXIT_INTERRUPT
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    return status


def _main(argv: list[str]) -> int:
    args = build_parser().parse_args(_normalise_argv(argv))
    if args.command == "run":
        source = _read_source(args.file)
        return _execute(source, args.file if args.file != "-" else "<stdin>", args)
    if args.command == "exec":
        return _execute(args.code, "<string>", args)
    if args.command == "dis":
        from .bytecode import disassemble
        from .compiler import compile_source

        print(disassemble(compile_source(_read_source(args.file), args.file)))
        return EXIT_OK
    return repl(args)


def repl(args: argparse.Namespace) -> int:
    """Read-eval-print loop: multi-line blocks, expression results echoed like Python's REPL."""
    from .api import make_jit
    from .compiler import compile_source
    from .frontend import to_python
    from .stats import JitStats
    from .vm import VM

    opts = _run_options(args)
    stats = JitStats(backend=opts["backend"])
    jit = make_jit(opts["backend"], opts["jit_threshold"], stats,
                   {"dump": opts["dump"], "jit_log": opts["jit_log"], "dump_stream": sys.stderr,
                    "filename": "<stdin>", "use_cache": opts["use_cache"], "target": opts["target"],
                    "jit_code_budget": opts["jit_code_budget"]})
    vm = VM(filename="<stdin>", jit=jit)
    vm.builtins["__echo__"] = _echo
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"Tauraro {__version__} ({opts['backend']} backend). Ctrl-D to exit.")
    while True:
        try:
            source = _read_block(interactive, to_python)
        except KeyboardInterrupt:
            print("\nKeyboardInterrupt")
            continue
        if source is None:
            if interactive:
                print()
            return EXIT_OK
        if not source.strip():
            continue
        try:
            code = compile_source(_echo_wrap(source, to_python), "<stdin>")
            vm.run_module(code)
        except TauraroSyntaxError as e:
            print(e.format(), file=sys.stderr)
        except TauraroRuntimeError as e:
            sys.stdout.flush()
            print(e.format(), file=sys.stderr)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", file=sys.stderr)


def _echo(value: Any) -> None:
    if value is not None:
        print(repr(value))


def _echo_wrap(source: str, to_python: Any) -> str:
    """A single expression is evaluated and echoed; anything else runs as statements."""
    import ast

    try:
        tree = ast.parse(to_python(source))
    except SyntaxError:
        return source
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
        return "__echo__((" + source.strip() + "\n))\n"
    return source


def _read_block(interactive: bool, to_python: Any) -> str | None:
    lines: list[str] = []
    while True:
        prompt = "... " if lines else ">>> "
        try:
            line = input(prompt) if interactive else _read_line()
        except EOFError:
            return "\n".join(lines) + "\n" if lines else None
        if line is None:
            return "\n".join(lines) + "\n" if lines else None
        lines.append(line)
        text = "\n".join(lines) + "\n"
        if lines[-1].strip() == "" and len(lines) > 1:
            return text
        try:
            complete = codeop.compile_command(to_python(text), "<stdin>", "single")
        except (SyntaxError, OverflowError, ValueError):
            return text  # let the compiler report it
        if complete is not None and not (len(lines) == 1 and text.rstrip().endswith(":")):
            if len(lines) == 1 or not line.startswith((" ", "\t")):
                return text


def _read_line() -> str | None:
    line = sys.stdin.readline()
    if not line:
        return None
    return line.rstrip("\n")
