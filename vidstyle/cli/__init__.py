"""The ``vidstyle`` command line: thin wrappers that parse, call the library, map errors.

Every command lives in its own module and registers itself on ``app``. ``main`` turns
our exceptions into one line on stderr and the exit codes of DESIGN §8 (0 ok, 1 runtime
failure, 2 bad usage or input, 130 interrupted); ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import sys
import traceback

import typer

from vidstyle.errors import VidstyleError


def _click_flavours(name: str) -> tuple[type[BaseException], ...]:
    """``name`` from click and from the copy newer typer vendors (``typer._click``).

    typer >= 0.20 parses with its own click: catching only ``click.*`` would report a
    missing argument as an "unexpected error" with exit 1 instead of usage, exit 2.
    """
    import importlib

    found: list[type[BaseException]] = []
    for module in ("click.exceptions", "typer._click.exceptions"):
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if isinstance(cls, type) and cls not in found:
            found.append(cls)
    return tuple(found)


_EXIT = (*_click_flavours("Exit"), typer.Exit)
_ABORT = (*_click_flavours("Abort"), typer.Abort)
_CLICK_ERROR = _click_flavours("ClickException")

app = typer.Typer(
    name="vidstyle",
    help="Turn video and a live webcam feed into moving paintings.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"verbose": False}


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v",
                                       help="Show tracebacks on errors.")) -> None:
    _state["verbose"] = verbose


def verbose() -> bool:
    return _state["verbose"] or "--verbose" in sys.argv or "-v" in sys.argv[1:2]


def _register() -> None:
    # Imported for their side effect of adding commands to ``app``.
    import importlib

    for name in ("render", "image", "styles", "train", "live", "scenes", "eval"):
        try:
            importlib.import_module(f"vidstyle.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name != f"vidstyle.cli.{name}_cmd":
                raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns (and exits with) the exit code."""
    _register()
    code = 0
    try:
        rv = app(args=argv, prog_name="vidstyle", standalone_mode=False)
        # typer turns Ctrl-C into Exit(130) and, outside standalone mode, *returns* an
        # Exit's code instead of raising it: ignoring it made an interrupted render exit 0.
        if isinstance(rv, int) and not isinstance(rv, bool) and rv:
            code = rv
            if code == 130:
                print("vidstyle: interrupted", file=sys.stderr)
    except VidstyleError as exc:
        code = _report(exc, str(exc), exc.exit_code)
    except _EXIT as exc:
        code = exc.exit_code  # type: ignore[attr-defined]
    except _CLICK_ERROR as exc:
        # One line like every other error (click's own block is usage + hint + message).
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        code = _report(exc, exc.format_message() + hint,  # type: ignore[attr-defined]
                       exc.exit_code or 2)  # type: ignore[attr-defined]
    except (KeyboardInterrupt, *_ABORT):
        print("vidstyle: interrupted", file=sys.stderr)
        code = 130
    except Exception as exc:  # a bug or an unforeseen failure: still one line by default
        code = _report(exc, f"unexpected error: {type(exc).__name__}: {exc}", 1)
    if argv is None:
        sys.exit(code)
    return code


def _report(exc: BaseException, line: str, code: int) -> int:
    if verbose():
        traceback.print_exception(exc)
    print(f"vidstyle: error: {line}", file=sys.stderr)
    return code
