"""Imports (host standard-library modules, Tauraro user modules on the same VM) and the frame-aware builtins."""
from __future__ import annotations

import builtins as _py
import importlib
import importlib.machinery
import os
import sys
from collections import ChainMap
from types import ModuleType
from typing import Any

from .bytecode import CodeObject
from .errors import TauraroSyntaxError, remember_source
from .runtime import UNBOUND, Cell
from .settings import ENV_PATH

# File names tried for `import name` in each directory of the search path, in order: a package first (as
# CPython's path finder does), Tauraro source before Python source.
PACKAGE_INITS = ("__init__.tr", "__init__.py")
MODULE_SUFFIXES = (".tr", ".py")
# Keys every module namespace gets (the program's own names are the rest: RunResult.globals drops these).
MODULE_DUNDERS = ("__name__", "__doc__", "__package__", "__loader__", "__spec__", "__file__", "__builtins__",
                  "__path__", "__cached__", "__annotations__")


def search_path() -> list[str]:
    """The directories of $TAURARO_PATH (os.pathsep-separated; empty entries ignored)."""
    return [os.path.abspath(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]


def _host_first(name: str) -> bool:
    """Built-in and frozen modules come before any file on the path, as in CPython (`sys`, `math`...)."""
    return name in sys.builtin_module_names or importlib.machinery.FrozenImporter.find_spec(name) is not None


def set_globals(code: CodeObject, namespace: Any) -> None:
    """Make `namespace` the globals of a module's code and of every code object nested in it."""
    stack = [code]
    while stack:
        c = stack.pop()
        c.globals = namespace
        stack.extend(c.children())


_ABSENT = object()


class ModuleSystem:
    """The modules of one run: user modules by full name, and the search path: the main file's directory,
    then $TAURARO_PATH. Names not found there are the host's modules (the standard library). While a
    program runs (`published`), its main module and user modules are also in the host's sys.modules, as
    CPython has them (pickle, `sys.modules[__name__]`); `close` puts back what was there before, so
    in-process runs do not see each other's modules."""

    def __init__(self, vm: Any, filename: str) -> None:
        self.vm = vm
        base = os.getcwd() if filename.startswith("<") else os.path.dirname(os.path.abspath(filename))
        self.path = [base, *search_path()]
        self.user: dict[str, ModuleType] = {}
        self.host: dict[str, Any] = {}  # names found to be host modules: not searched for again
        self.initializing: set[str] = set()
        self.published = False
        self.saved: dict[str, Any] = {}  # sys.modules entries replaced while published
        self.use_cache = True  # user modules' bytecode comes from the cache (codecache.py) unless --no-cache

    def publish(self, main: ModuleType) -> None:
        """Put the main module and, from now on, each user module into sys.modules until close()."""
        self.published = True
        self._publish("__main__", main)
        for name, module in self.user.items():
            self._publish(name, module)

    def _publish(self, name: str, module: Any) -> None:
        if not self.published:
            return
        self.saved.setdefault(name, sys.modules.get(name, _ABSENT))
        sys.modules[name] = module

    def _unpublish(self, name: str) -> None:
        old = self.saved.pop(name, _ABSENT)
        if old is _ABSENT:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = old

    def close(self) -> None:
        """Restore the host's sys.modules entries that the run replaced."""
        for name in list(self.saved):
            self._unpublish(name)
        self.published = False

    # --- import statements -----------------------------------------------------------------------
    def import_module(self, spec: str, G: Any) -> Any:
        """`import a.b` / `from a.b import ...`: the module named (leading dots: relative to G's package)."""
        name = spec.lstrip(".")
        level = len(spec) - len(name)
        if level:
            name = _resolve_relative(name, level, G)
        elif not name:
            raise ValueError("Empty module name")
        return self.load(name)

    def import_from(self, module: Any, name: str, G: Any) -> Any:
        """`from module import name` (a submodule of a package is imported if needed; '*': every public name
        into G, returns None)."""
        if name == "*":
            self._import_star(module, G)
            return None
        try:
            return getattr(module, name)
        except AttributeError:
            pass
        modname = getattr(module, "__name__", None)
        if isinstance(modname, str) and hasattr(module, "__path__"):
            try:
                return self.load(f"{modname}.{name}")
            except ModuleNotFoundError as e:
                if e.name != f"{modname}.{name}":
                    raise
        path = getattr(module, "__file__", None)
        where = path if path is not None else "unknown location"
        shown = modname if isinstance(modname, str) else "<unknown module name>"
        if modname in self.initializing:
            message = (f"cannot import name '{name}' from partially initialized module '{shown}' "
                       f"(most likely due to a circular import) ({where})")
        else:
            message = f"cannot import name '{name}' from '{shown}' ({where})"
        raise ImportError(message, name=modname, path=path) from None

    def _import_star(self, module: Any, G: Any) -> None:
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n in vars(module) if not n.startswith("_")]
        for n in names:
            G[n] = getattr(module, n)

    # --- finding and loading -------------------------------------------------------------------------
    def load(self, fullname: str) -> Any:
        """The module `fullname` (dotted), importing its parents first; user modules before host ones."""
        module = self.user.get(fullname) or self.host.get(fullname)
        if module is not None:
            return module
        parent, _, last = fullname.rpartition(".")
        if parent:
            pmod = self.load(parent)
            module = self.user.get(fullname)  # the parent's __init__ may have imported it
            if module is not None:
                return module
            if parent not in self.user:
                return self._host(fullname)
            paths = getattr(pmod, "__path__", None)
            if paths is None:
                raise ModuleNotFoundError(f"No module named '{fullname}'; '{parent}' is not a package",
                                          name=fullname)
            found = _find(last, paths)
            if found is None:
                raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)
            module = self._execute(fullname, *found)
            setattr(pmod, last, module)
            return module
        if not _host_first(fullname):
            found = _find(fullname, self.path)
            if found is not None:
                return self._execute(fullname, *found)
        return self._host(fullname)

    def _host(self, fullname: str) -> Any:
        module = self.host[fullname] = importlib.import_module(fullname)
        return module

    def _execute(self, fullname: str, path: str, package_dir: str | None) -> ModuleType:
        """Compile and run a user module on the program's VM; it is registered before it runs (circular
        imports see it partially initialised) and removed again if it fails, as CPython does."""
        from .codecache import compile_cached
        from .source import decode_source

        with open(path, "rb") as f:
            source = decode_source(f.read(), path)
        try:
            code = compile_cached(source, path, self.use_cache)
        except TauraroSyntaxError as e:
            raise SyntaxError(e.message, (path, e.line, e.col, _line(source, e.line))) from None
        remember_source(path, source)
        module = ModuleType(fullname)
        spec = importlib.machinery.ModuleSpec(fullname, None, origin=path, is_package=package_dir is not None)
        spec.has_location = True
        if package_dir is not None:
            spec.submodule_search_locations = [package_dir]
            module.__path__ = [package_dir]
        module.__file__ = path
        module.__cached__ = None
        module.__spec__ = spec
        module.__package__ = fullname if package_dir is not None else fullname.rpartition(".")[0]
        module.__builtins__ = self.vm.builtins
        set_globals(code, module.__dict__)
        self.user[fullname] = module
        self._publish(fullname, module)
        self.initializing.add(fullname)
        spec._initializing = True  # CPython's "partially initialized module" AttributeError reads it
        try:
            run_code(self.vm, code)
        except BaseException:
            self.user.pop(fullname, None)
            self._unpublish(fullname)
            raise
        finally:
            self.initializing.discard(fullname)
            spec._initializing = False
        return module

    # --- the builtin __import__ --------------------------------------------------------------------------
    def dunder_import(self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                      level: int = 0) -> Any:
        """builtins.__import__ over this run's modules: the top package, or the module itself with a fromlist."""
        if not isinstance(name, str):
            raise TypeError(f"module name must be str, not {type(name).__name__}")
        if level < 0:
            raise ValueError("level must be >= 0")
        module = self.import_module("." * level + name, globals or {})
        if fromlist:
            for item in fromlist:
                if item != "*" and not hasattr(module, item) and hasattr(module, "__path__"):
                    try:
                        self.load(f"{module.__name__}.{item}")
                    except ModuleNotFoundError:
                        pass
            return module
        if level == 0:
            return self.load(name.partition(".")[0])
        return module


def _find(name: str, paths: list[str]) -> tuple[str, str | None] | None:
    """(the file to run, the package directory or None) for `name` in the first directory that has it."""
    for d in paths:
        pkg = os.path.join(d, name)
        if os.path.isdir(pkg):
            for init in PACKAGE_INITS:
                if os.path.isfile(os.path.join(pkg, init)):
                    return os.path.join(pkg, init), pkg
        for suffix in MODULE_SUFFIXES:
            path = os.path.join(d, name + suffix)
            if os.path.isfile(path):
                return path, None
    return None


def _resolve_relative(name: str, level: int, G: Any) -> str:
    """importlib's rule: the package is __package__ (else derived from __name__), `level - 1` parts up."""
    package = G.get("__package__")
    if package is None:
        modname = G.get("__name__", "")
        package = modname if "__path__" in G else modname.rpartition(".")[0]
        if modname == "__main__":
            package = ""
    if not package:
        raise ImportError("attempted relative import with no known parent package")
    bits = package.rsplit(".", level - 1)
    if len(bits) < level:
        raise ImportError("attempted relative import beyond top-level package")
    return f"{bits[0]}.{name}" if name else bits[0]


def _line(source: str, line: int) -> str | None:
    lines = source.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def run_code(vm: Any, code: CodeObject) -> Any:
    """Run module-level code on the VM (its globals already set); the module's frame counts towards
    the recursion limit, as in CPython."""
    vm.runtime(code)
    regs = [UNBOUND] * code.nregs + [None, None]
    vm.depth += 1
    try:
        return vm.execute(code, regs, 0)
    finally:
        vm.depth -= 1


def init_main(vm: Any, filename: str) -> None:
    """The main module (vm.main; its namespace is vm.globals): `__name__` is '__main__'; `__file__` is the
    path as given."""
    main = ModuleType("__main__")
    main.__dict__.update(vm.globals)
    vm.globals = main.__dict__
    vm.main = main
    G = vm.globals
    G.setdefault("__name__", "__main__")
    G.setdefault("__doc__", None)
    G.setdefault("__package__", None)
    G.setdefault("__loader__", None)
    G.setdefault("__spec__", None)
    G.setdefault("__annotations__", {})
    G.setdefault("__builtins__", vm.builtins)
    if not filename.startswith("<"):
        G.setdefault("__file__", filename)
        G.setdefault("__cached__", None)


# ==== builtins that see the calling Tauraro frame ========================================================
def _caller(vm: Any) -> tuple[CodeObject, list] | None:
    """The innermost Tauraro frame running on this thread: (code, registers), from the VM's execute frames."""
    from .baseline import FRAMES
    from .vm import VM

    target = VM.execute.__code__
    f = sys._getframe(2)
    while f is not None:
        if f.f_code is target:
            loc = f.f_locals
            return loc["code"], loc["R"]
        code = FRAMES.get(f.f_code)
        if code is not None:  # a baseline frame (tier 1): its registers are the host locals _R0, _R1, ...
            loc = f.f_locals
            return code, [loc.get(f"_R{r}", UNBOUND) for r in range(code.nregs)]
        f = f.f_back
    return None


def _frame_globals(vm: Any) -> Any:
    from .vm import globals_of

    found = _caller(vm)
    return vm.globals if found is None else globals_of(vm, found[0])


def _frame_locals(vm: Any) -> Any:
    """locals(): the module's globals at module level, the class namespace in a class body, else a
    snapshot of the function's bound variables (as CPython's locals() in a function)."""
    from .vm import globals_of

    found = _caller(vm)
    if found is None:
        return vm.globals
    code, R = found
    if code.kind == "module":
        return globals_of(vm, code)
    out = {}
    if code.kind == "class":
        out = R[0]
    for reg, name in sorted(code.local_names.items()):
        if name.startswith(".") or reg >= len(R):
            continue
        v = R[reg]
        if isinstance(v, Cell):
            v = v.contents
        if v is not UNBOUND:
            out[name] = v
    return out


class TauraroCode:
    """What compile() returns: Tauraro source to run by exec() or eval() (compiled again for each
    namespace, since compiled handlers are bound to their globals)."""

    def __init__(self, source: str, filename: str, mode: str) -> None:
        self.source = source
        self.filename = filename
        self.mode = mode
        self.co_filename = filename

    def __repr__(self) -> str:
        return f'<code object <module> at {id(self):#x}, file "{self.filename}", line 1>'


_EVAL_NAME = "__tauraro_eval_result__"
_BLANK = " \t"  # eval() ignores leading spaces and tabs


def _source_text(source: Any, what: str) -> str:
    if isinstance(source, (bytes, bytearray)):
        source = bytes(source).decode("utf-8")
    if not isinstance(source, str):
        raise TypeError(f"{what}() arg 1 must be a string, bytes or code object")
    if "\0" in source:
        raise SyntaxError("source code string cannot contain null bytes")
    return source


_PyCF_ONLY_AST = 0x400  # ast.PyCF_ONLY_AST (the ast module loads only when a program compiles text)


def _check(source: str, filename: str, mode: str) -> None:
    """Raise the host SyntaxError CPython raises for bad source (aliases mapped first)."""
    import ast

    from .frontend import to_python

    text = to_python(source)
    if mode == "eval":
        text = text.lstrip(_BLANK)
    ast.parse(text, filename, mode if mode in ("eval", "exec") else "single")


def _compile(source: str, filename: str, mode: str) -> CodeObject:
    from .compiler import compile_source

    if mode == "eval":
        source = f"{_EVAL_NAME} = (\n{source.lstrip(_BLANK)}\n)\n"
        try:
            return compile_source(source, filename)
        except TauraroSyntaxError as e:
            raise SyntaxError(e.message, (filename, e.line - 1, e.col, None)) from None
    try:
        return compile_source(source, filename)
    except TauraroSyntaxError as e:
        raise SyntaxError(e.message, (filename, e.line, e.col, _line(source, e.line))) from None


def _run_in(vm: Any, source: str, filename: str, mode: str, G: Any, L: Any) -> Any:
    if G is None:
        G = _frame_globals(vm)
        if L is None:
            L = _frame_locals(vm)
    elif not isinstance(G, dict):
        raise TypeError(f"{'exec' if mode != 'eval' else 'eval'}() globals must be a dict, not {type(G).__name__}")
    G.setdefault("__builtins__", vm.builtins)
    _check(source, filename, mode)
    code = _compile(source, filename, mode)
    set_globals(code, G)
    scope = G if L is None or L is G else ChainMap(L, G)
    code.globals = scope
    run_code(vm, code)
    if mode == "eval":
        return scope.pop(_EVAL_NAME) if isinstance(scope, dict) else scope.maps[0].pop(_EVAL_NAME)
    return None


def frame_builtins(vm: Any) -> dict[str, Any]:
    """The builtins that need the VM or the calling frame: exec/eval/compile of Tauraro source,
    globals/locals/vars/dir, __import__."""

    def exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:  # noqa: A001
        if isinstance(source, TauraroCode):
            text, filename, mode = source.source, source.filename, "exec"
        else:
            text, filename, mode = _source_text(source, "exec"), "<string>", "exec"
        _run_in(vm, text, filename, mode, globals, locals)

    def eval(source: Any, globals: Any = None, locals: Any = None, /) -> Any:  # noqa: A001
        if isinstance(source, TauraroCode):
            if source.mode != "eval":
                _run_in(vm, source.source, source.filename, "exec", globals, locals)
                return None
            text, filename = source.source, source.filename
        else:
            text, filename = _source_text(source, "eval"), "<string>"
        return _run_in(vm, text, filename, "eval", globals, locals)

    def compile(source: Any, filename: Any, mode: str, flags: int = 0, dont_inherit: bool = False,  # noqa: A001
                optimize: int = -1, *, _feature_version: int = -1) -> Any:
        if flags & _PyCF_ONLY_AST:
            from .frontend import to_python

            return _py.compile(to_python(_source_text(source, "compile")), filename, mode, flags, dont_inherit,
                               optimize)
        if mode not in ("exec", "eval", "single"):
            raise ValueError("compile() mode must be 'exec', 'eval' or 'single'")
        text = _source_text(source, "compile")
        filename = os.fsdecode(filename)
        _check(text, filename, mode)
        return TauraroCode(text, filename, mode)

    def globals() -> Any:  # noqa: A001
        return _frame_globals(vm)

    def locals() -> Any:  # noqa: A001
        return _frame_locals(vm)

    def vars(*args: Any) -> Any:  # noqa: A001
        if not args:
            return _frame_locals(vm)
        return _py.vars(*args)

    def dir(*args: Any) -> list[str]:  # noqa: A001
        if not args:
            return sorted(_frame_locals(vm))
        return _py.dir(*args)

    funcs = {"exec": exec, "eval": eval, "compile": compile, "globals": globals, "locals": locals,
             "vars": vars, "dir": dir, "__import__": vm.modules.dunder_import}
    for name, f in funcs.items():
        if name != "__import__":
            f.__qualname__ = f.__name__ = name
    return funcs
