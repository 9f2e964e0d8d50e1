"""The traceback model: exceptions, their chain and groups, frames, source and locals.

:func:`collect` turns a live exception into plain data (:class:`ExceptionInfo`,
:class:`FrameInfo`) that the renderers format. Everything that could be large is bounded here,
at capture time: source context lines, the number of locals per frame, each repr (through the
report's :class:`~middleware.debug.scrub.Masker`), frames per exception (deep recursion keeps
its two ends), chain length and group members. Secrets are masked before any string exists.

Frame hiding follows the Paste/werkzeug protocol: a frame whose locals contain a true
``__traceback_hide__`` is left out. Library frames (the standard library, site-packages, this
package) are marked so the page can collapse them.
"""

from __future__ import annotations

import functools
import linecache
import os
import site
import sysconfig
import traceback
from dataclasses import dataclass, field
from types import FrameType, TracebackType

from middleware.debug.scrub import Masker

CONTEXT_LINES = 5
MAX_LINE = 300
MAX_LOCALS = 40
MAX_FRAMES = 60
MAX_CHAIN = 10
MAX_GROUP_MEMBERS = 20
MAX_EXCEPTIONS = 60
MAX_MESSAGE = 2000


@dataclass
class FrameInfo:
    """One frame: where it is, its source context and its locals (already masked)."""

    key: int
    filename: str
    lineno: int
    function: str
    library: bool
    source: list[tuple[int, str]] = field(default_factory=list)
    locals: list[tuple[str, str]] = field(default_factory=list)
    locals_omitted: int = 0


@dataclass
class ExceptionInfo:
    """One exception with its frames, its notes, and links to the chain and group members."""

    type: str
    message: str
    notes: list[str]
    frames: list[FrameInfo]
    frames_omitted: int = 0
    cause: ExceptionInfo | None = None
    context: ExceptionInfo | None = None
    members: list[ExceptionInfo] = field(default_factory=list)
    members_omitted: int = 0
    repeated: bool = False  # a cycle in the chain points back to an exception already shown


@functools.lru_cache(maxsize=1)
def _library_prefixes() -> tuple[str, ...]:
    """Install paths, computed once (werkzeug recomputes them per frame; 74% of its render)."""
    # Not "data" or "scripts": on a system Python they are /usr, which would swallow
    # applications installed under /usr/share or /usr/local.
    names = ("stdlib", "platstdlib", "purelib", "platlib")
    paths = {sysconfig.get_path(n) for n in names} | set(getattr(site, "getsitepackages", list)())
    user = getattr(site, "getusersitepackages", lambda: None)()
    if user:
        paths.add(user)
    paths.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # package middleware
    return tuple(sorted({os.path.join(os.path.realpath(p), "") for p in paths if p}))


@functools.lru_cache(maxsize=1024)
def is_library(filename: str) -> bool:
    """Whether a frame's file belongs to Python, an installed package, or this package."""
    if filename.startswith("<"):
        return filename.startswith("<frozen")
    return os.path.realpath(filename).startswith(_library_prefixes())


def _exception_type(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"


def _message(exc: object, masker: Masker) -> str:
    try:
        text = str(exc)
    except Exception as error:  # noqa: BLE001 - a broken __str__ must not break the page
        return f"<str() raised {type(error).__name__}>"
    # bounded: a message is shown four times (title, header, text, JSON)
    return masker.bounded(text, MAX_MESSAGE)


def _hidden(frame: FrameType) -> bool:
    try:
        return bool(frame.f_locals.get("__traceback_hide__"))
    except Exception:  # noqa: BLE001 - exotic frames: show them
        return False


def _walk(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    return [(f, n) for f, n in traceback.walk_tb(tb) if not _hidden(f)]


def walk_exceptions(exc: BaseException) -> list[BaseException]:
    """Every exception reachable through cause, context and group members (cycle-safe)."""
    seen: dict[int, BaseException] = {}
    todo = [exc]
    while todo and len(seen) < MAX_EXCEPTIONS:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen[id(current)] = current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        todo.extend(getattr(current, "exceptions", ())[:MAX_GROUP_MEMBERS])
    return list(seen.values())


class _Builder:
    def __init__(self, masker: Masker, keep_frames: bool) -> None:
        self.masker = masker
        self.keep_frames = keep_frames
        self.live_frames: list[FrameType] = []
        self.count = 0
        self.shown: set[int] = set()

    def frame(self, frame: FrameType, lineno: int) -> FrameInfo:
        code = frame.f_code
        filename = code.co_filename
        info = FrameInfo(key=self.count, filename=filename, lineno=lineno,
                         function=getattr(code, "co_qualname", code.co_name),
                         library=is_library(filename))
        self.count += 1
        if self.keep_frames:  # index == key: the console finds a frame by its key
            self.live_frames.append(frame)
        lines = linecache.getlines(filename, frame.f_globals)
        first = max(lineno - CONTEXT_LINES, 1)
        for number in range(first, min(lineno + CONTEXT_LINES, len(lines)) + 1):
            line = lines[number - 1].rstrip("\r\n")
            info.source.append((number, self.masker.bounded(line, MAX_LINE)))
        try:
            items = [(k, v) for k, v in frame.f_locals.items() if k != "__traceback_hide__"]
        except Exception:  # noqa: BLE001 - exotic frames: no locals rather than no page
            items = []
        info.locals = [(str(k), self.masker.value(k, v)) for k, v in items[:MAX_LOCALS]]
        info.locals_omitted = max(len(items) - MAX_LOCALS, 0)
        return info

    def exception(self, exc: BaseException, depth: int = 0) -> ExceptionInfo:
        if id(exc) in self.shown:
            return ExceptionInfo(_exception_type(exc), _message(exc, self.masker), [], [],
                                 repeated=True)
        self.shown.add(id(exc))
        walked = _walk(exc.__traceback__)
        omitted = max(len(walked) - MAX_FRAMES, 0)
        if omitted:  # deep recursion: keep where it started and where it failed
            walked = walked[:MAX_FRAMES // 3] + walked[-(MAX_FRAMES - MAX_FRAMES // 3):]
        notes = getattr(exc, "__notes__", None)
        info = ExceptionInfo(
            type=_exception_type(exc),
            message=_message(exc, self.masker),
            notes=[_message(n, self.masker) for n in notes[:20]] if isinstance(notes, list) else [],
            frames=[self.frame(f, n) for f, n in walked],
            frames_omitted=omitted,
        )
        if depth < MAX_CHAIN and len(self.shown) < MAX_EXCEPTIONS:
            if exc.__cause__ is not None:
                info.cause = self.exception(exc.__cause__, depth + 1)
            elif exc.__context__ is not None and not exc.__suppress_context__:
                info.context = self.exception(exc.__context__, depth + 1)
            members = getattr(exc, "exceptions", None)
            if isinstance(members, tuple):
                info.members = [self.exception(m, depth + 1)
                                for m in members[:MAX_GROUP_MEMBERS]]
                info.members_omitted = max(len(members) - MAX_GROUP_MEMBERS, 0)
        return info


def collect(exc: BaseException, masker: Masker,
            keep_frames: bool = False) -> tuple[ExceptionInfo, list[FrameType]]:
    """Build the model of ``exc``; also return the live frames (by ``FrameInfo.key``) when
    ``keep_frames`` is true (the console needs them), else an empty list."""
    for each in walk_exceptions(exc):
        # Learn every secret value first, so that a secret is masked even where it is shown
        # before the frame whose local variable revealed it.
        for frame, _ in _walk(each.__traceback__):
            try:
                masker.scan(frame.f_locals)
            except Exception:  # noqa: BLE001 - exotic frames
                continue
    builder = _Builder(masker, keep_frames)
    info = builder.exception(exc)
    return info, builder.live_frames
