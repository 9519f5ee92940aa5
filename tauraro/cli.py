"""Command line: `tauraro run|dis FILE`, `tauraro FILE`, `tauraro -c CODE`, and the REPL."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Sequence

from . import __version__
from .backends.base import BACKEND_CHOICES
from .errors import TauraroError, TauraroRuntimeError, TauraroSyntaxError, system_exit_status
from .settings import (
    DEFAULT_BACKEND,
    DEFAULT_JIT_THRESHOLD,
    DEFAULT_TIER,
    ENV_BACKEND,
    ENV_CACHE_DIR,
    ENV_DATA_HOME,
    ENV_JIT_THRESHOLD,
    ENV_PATH,
    ENV_TIER,
    TIERS,
)

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPT = 0, 1, 2, 130
DUMP_KINDS = ("bytecode", "ir", "ir-passes", "snapshots", "llvm", "asm", "wat")


class UsageError(Exception):
    """A bad command line: reported as one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default=os.environ.get(ENV_BACKEND, DEFAULT_BACKEND), choices=BACKEND_CHOICES,
                   help=f"execution backend (default: {DEFAULT_BACKEND}; env {ENV_BACKEND})")
    p.add_argument("--jit-threshold", type=int, default=None, metavar="N",
                   help=f"back-edges before a loop is compiled (default: {DEFAULT_JIT_THRESHOLD}; "
                        f"env {ENV_JIT_THRESHOLD})")
    p.add_argument("--jit-log", action="store_true", help="one line per compile, abort, blacklist, exit storm")
    p.add_argument("--dump", default="", metavar="WHAT",
                   help=f"comma list of: {', '.join(DUMP_KINDS)} (printed on stderr)")
    p.add_argument("--stats", action="store_true", help="print JIT statistics on stderr at exit")
    p.add_argument("--stats-json", metavar="PATH", help="write JIT statistics as JSON at exit")
    p.add_argument("--no-cache", action="store_true", help="do not use the compiled-bytecode and compiled-module caches")
    p.add_argument("--jit-code-budget", default=None, metavar="BYTES",
                   help="memory compiled loops may keep, e.g. 64M (default 64M; env TAURARO_JIT_CODE_BUDGET); "
                        "the least recently used are evicted beyond it")
    p.add_argument("--target", default=None, help="dump code for another target (e.g. aarch64)")
    p.add_argument("--tier", type=int, default=None, choices=TIERS,
                   help=f"0: every frame in the VM; 1: hot functions translated to host code (default {DEFAULT_TIER}; "
                        f"env {ENV_TIER})")


USAGE = """tauraro FILE [ARGS] [options]   run a program, ARGS its sys.argv[1:] (= tauraro run FILE ARGS)
       tauraro -c CODE [options]         run CODE (same as: tauraro exec CODE)
       tauraro [options]                 interactive prompt (same as: tauraro repl)
       tauraro dis FILE                  print the register bytecode"""
EPILOG = f"""options of run, exec and repl: tauraro run --help.
environment: {ENV_BACKEND}, {ENV_JIT_THRESHOLD}, {ENV_TIER}, {ENV_PATH} (user-module directories searched after the
main file's), {ENV_CACHE_DIR} (compiled-bytecode and compiled-module caches, default
~/.cache/tauraro), {ENV_DATA_HOME} (REPL history in $XDG_DATA_HOME/tauraro/history, default
~/.local/share/tauraro/history). Exit status: 0 ok, 1 uncaught exception, 2 syntax or usage error,
130 Ctrl-C."""


COMMANDS = ("run", "dis", "exec", "repl")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; `only` (a command name) builds just that subcommand: each subparser costs
    ~1 ms at start-up (argparse looks up gettext translations for every one), and the others are
    needed only for `tauraro --help` and for an unknown command's error."""
    parser = OneLineParser(prog="tauraro", description="Tauraro: Python syntax, Hausa keywords, a loop JIT.",
                           usage=USAGE, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tauraro {__version__}")
    # Shown for --help only: `-c` is turned into the exec command before parsing (_normalise_argv).
    parser.add_argument("-c", metavar="CODE", dest="code_option", help="run CODE, then exit (= exec CODE)")
    sub = parser.add_subparsers(dest="command", prog="tauraro")
    if only in (None, "run"):
        run = sub.add_parser("run", help="run a program")
        run.add_argument("file", help="the .tr program ('-' reads standard input)")
        _add_run_options(run)
    if only in (None, "dis"):
        dis = sub.add_parser("dis", help="print the register bytecode of every function")
        dis.add_argument("file")
    if only in (None, "exec"):
        ccmd = sub.add_parser("exec", help="run the code given as an argument (same as -c)")
        ccmd.add_argument("code")
        _add_run_options(ccmd)
    if only in (None, "repl"):
        repl = sub.add_parser("repl", help="interactive prompt")
        _add_run_options(repl)
    return parser


TAKES_VALUE = frozenset({"--backend", "--jit-threshold", "--dump", "--stats-json", "--target", "--jit-code-budget",
                         "--tier"})
FLAGS = frozenset({"--jit-log", "--stats", "--no-cache", "-h", "--help"})


def split_program_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split `run FILE ...` / `exec CODE ...` into Tauraro's arguments and the program's (its sys.argv[1:]):
    after FILE or CODE, Tauraro's own options still count; any other argument, and all after `--`, is the
    program's."""
    ours: list[str] = []
    program: list[str] = []
    target_seen = False
    i = 0
    while i < len(argv):
        a = argv[i]
        name = a.split("=", 1)[0]
        if target_seen and a == "--":
            program.extend(argv[i + 1:])
            break
        if a in TAKES_VALUE and i + 1 < len(argv):
            ours += [a, argv[i + 1]]
            i += 2
            continue
        if target_seen and name not in TAKES_VALUE and name not in FLAGS:
            program.append(a)
        else:
            ours.append(a)
            target_seen = target_seen or not a.startswith("-") or a == "-"
        i += 1
    return ours, program


def _normalise_argv(argv: list[str]) -> list[str]:
    """`tauraro FILE ...` means run; `tauraro -c CODE ...` means exec; no arguments opens the REPL."""
    if not argv:
        return ["repl"]
    if argv[0] == "-c":
        return ["exec", *argv[1:]]
    if argv[0] in (*COMMANDS, "-h", "--help", "--version"):
        return argv
    positional = [a for i, a in enumerate(argv)
                  if not a.startswith("-") and not (i and argv[i - 1] in TAKES_VALUE)]
    return ["run", *argv] if positional or "-" in argv else ["repl", *argv]


def _read_source(path: str) -> str:
    """The program's text, decoded as CPython decodes a script (BOM, coding declarations)."""
    from .source import decode_source

    if path == "-":
        return decode_source(sys.stdin.buffer.read(), "<stdin>")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError(f"can't open file '{path}': {e.strerror}") from None
    return decode_source(data, path)


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
            "use_cache": not args.no_cache, "target": args.target, "jit_code_budget": budget, "tier": args.tier}


def _execute(read_source: Callable[[], str], filename: str, args: argparse.Namespace, argv: list[str]) -> int:
    """Run a program with sys.argv = argv; --stats/--stats-json are written whatever the outcome (then
    errors propagate)."""
    from .api import run
    from .stats import JitStats

    stats = JitStats(backend=args.backend)
    outcome, status, error = "usage-error", EXIT_USAGE, None
    saved_argv = sys.argv
    sys.argv = argv
    try:
        opts = _run_options(args)
        source = read_source()
        run(source, opts.pop("backend"), filename=filename, stats=stats, **opts)
        outcome, status = "ok", EXIT_OK
    except TauraroRuntimeError as e:
        sys.stdout.flush()
        print(e.format(), file=sys.stderr)
        outcome, status, error = "error", EXIT_ERROR, e.final_line()
    except SystemExit as e:  # sys.exit(), raise SystemExit: CPython's status and message
        sys.stdout.flush()
        status, message = system_exit_status(e)
        if message is not None:
            print(message, file=sys.stderr)
        outcome = "ok" if status == EXIT_OK else "exit"
    except TauraroSyntaxError as e:
        outcome, error = "syntax-error", e.format()
        raise
    except (TauraroError, UsageError) as e:
        error = str(e)
        raise
    except KeyboardInterrupt:
        outcome, status, error = "interrupted", EXIT_INTERRUPT, "KeyboardInterrupt"
        raise
    finally:
        sys.argv = saved_argv
        _report_stats(args, stats, {"outcome": outcome, "exit_status": status, "error": error})
    return status


def _report_stats(args: argparse.Namespace, stats: Any, outcome: dict[str, Any]) -> None:
    """--stats as a table on stderr, --stats-json as a JSON object with the run's outcome added."""
    if args.stats:
        print(stats.table(), file=sys.stderr)
    if args.stats_json:
        try:
            with open(args.stats_json, "w", encoding="utf-8") as f:
                import json

                json.dump({**stats.to_json(), **outcome}, f, indent=2, sort_keys=True)
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
    except KeyboardInterrupt as e:
        sys.stdout.flush()
        print(interrupt_traceback(e), file=sys.stderr)
        status = EXIT_INTERRUPT
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    return status


def _main(argv: list[str]) -> int:
    argv = _normalise_argv(argv)
    program_args: list[str] = []
    if argv[0] in ("run", "exec"):
        ours, program_args = split_program_args(argv[1:])
        argv = [argv[0], *ours]
    args = build_parser(argv[0] if argv[0] in COMMANDS else None).parse_args(argv)
    if args.command == "run":
        return _execute(lambda: _read_source(args.file), args.file if args.file != "-" else "<stdin>", args,
                        [args.file, *program_args])
    if args.command == "exec":
        return _execute(lambda: args.code, "<string>", args, ["-c", *program_args])
    if args.command == "dis":
        from .bytecode import disassemble
        from .compiler import compile_source

        print(disassemble(compile_source(_read_source(args.file), args.file)))
        return EXIT_OK
    return repl(args)


def repl(args: argparse.Namespace) -> int:
    """Read-eval-print loop: multi-line blocks, expression results echoed like Python's REPL."""
    from .api import make_jit, resolve_tier
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
    vm = VM(filename="<stdin>", jit=jit, tier=resolve_tier(opts["tier"]), stats=stats)
    vm.modules.publish(vm.main)  # for the whole session (the process ends with it)
    vm.builtins["__echo__"] = _echo
    interactive = sys.stdin.isatty()
    save_history = _line_editing() if interactive else None
    if interactive:
        print(f"Tauraro {__version__} ({opts['backend']} backend). Ctrl-D to exit.")
    try:
        while True:
            try:
                source = _read_block(interactive, to_python)
            except KeyboardInterrupt:  # at the prompt: drop the partial block, as python3 does
                sys.stdout.flush()
                print("\nKeyboardInterrupt", file=sys.stderr)
                continue
            if source is None:
                if interactive:
                    print()
                return EXIT_OK
            if source.strip():
                _run_block(vm, compile_source, _echo_wrap(source, to_python))
    finally:
        if save_history is not None:
            save_history()
        if jit is not None:
            jit.finish()
        _report_stats(args, stats, {"outcome": "ok", "exit_status": EXIT_OK, "error": None})


def _run_block(vm: Any, compile_source: Callable[[str, str], Any], source: str) -> None:
    """Compile and run one REPL entry; errors and Ctrl-C print a report and return to the prompt."""
    try:
        vm.run_module(compile_source(source, "<stdin>"))
    except TauraroSyntaxError as e:
        print(e.format(), file=sys.stderr)
    except TauraroRuntimeError as e:
        sys.stdout.flush()
        print(e.format(), file=sys.stderr)
    except KeyboardInterrupt as e:
        sys.stdout.flush()
        print(interrupt_traceback(e), file=sys.stderr)


def interrupt_traceback(e: KeyboardInterrupt) -> str:
    """CPython's report of Ctrl-C: the Tauraro frames that were running, then 'KeyboardInterrupt'."""
    frames = list(reversed(getattr(e, "_tauraro_tb", [])))
    return TauraroRuntimeError(e, frames).format()


def history_path() -> str | None:
    """The REPL's history file: $XDG_DATA_HOME/tauraro/history, else ~/.local/share/tauraro/history."""
    data_home = os.environ.get(ENV_DATA_HOME, "")
    if not os.path.isabs(data_home):  # the XDG spec: a relative value is to be ignored
        home = os.path.expanduser("~")
        if home == "~" or not os.path.isabs(home):
            return None
        data_home = os.path.join(home, ".local", "share")
    return os.path.join(data_home, "tauraro", "history")


HISTORY_LENGTH = 1000


def _line_editing() -> Callable[[], None] | None:
    """Line editing and history through the standard library's readline where it exists; returns the
    function that saves the history at exit. A missing readline or an unwritable home only loses that."""
    try:
        import readline
    except ImportError:
        return None
    path = history_path()
    readline.set_history_length(HISTORY_LENGTH)
    if path is None:
        return None
    try:
        readline.read_history_file(path)
    except OSError:
        pass  # first session, or unreadable: start empty

    def save() -> None:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            readline.write_history_file(path)
        except OSError:
            pass
    return save


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
            import codeop

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
