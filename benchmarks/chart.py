"""The PNG chart of a run: the same numbers as the Markdown tables, drawn with matplotlib (Agg).

Three panels:

1. added us per request for each of our rows next to its first peer and its floor (log scale:
   the rows span a microsecond to milliseconds);
2. end-to-end requests per second per server: bare, our stack, the peers' stack;
3. RSS while streaming the large body through each full stack, with each stack's peak.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from benchmarks.numbers import Numbers, RunResults

COLOURS = {"ours": "#1f77b4", "peer": "#ff7f0e", "floor": "#7f7f7f", "bare": "#2ca02c"}


def draw(results: RunResults, numbers: Numbers, path: Path) -> None:
    """Draw the three panels into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _added_rows(results, numbers)
    height = max(4.0, 0.32 * len(rows) + 1.5)
    fig, axes = plt.subplots(3, 1, figsize=(11, height + 8),
                             gridspec_kw={"height_ratios": [height, 4, 4]})
    _panel_added(axes[0], rows)
    _panel_e2e(axes[1], results)
    _panel_stream(axes[2], results)
    fig.suptitle(f"wsgi-middleware-suite benchmarks ({results.mode}), "
                 f"{results.machine['date']}, {results.machine['python']}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _added_rows(results: RunResults, numbers: Numbers) -> list[tuple[str, dict[str, float]]]:
    """(our case id, {"ours"/"peer"/"floor": added us}) for every measurable ours row."""
    rows = []
    for case in results.cases:
        ours = numbers.added(case.id) if case.kind == "ours" else None
        if ours is None:
            continue
        bars = {"ours": ours}
        peer = numbers.added(case.peers[0]) if case.peers else None
        floor = numbers.added(case.floor) if case.floor else None
        if peer is not None:
            bars["peer"] = peer
        if floor is not None:
            bars["floor"] = floor
        rows.append((case.id, bars))
    return rows


def _panel_added(ax: Axes, rows: list[tuple[str, dict[str, float]]]) -> None:
    width = 0.27
    labelled: set[str] = set()
    for i, (_, bars) in enumerate(rows):
        for j, kind in enumerate(("ours", "peer", "floor")):
            if kind not in bars:
                continue
            # A bar cannot be drawn at or below zero on a log axis (noise can make a tiny
            # added cost negative): clip it to 0.01 us.
            ax.barh(i + (j - 1) * width, max(bars[kind], 0.01), width, color=COLOURS[kind],
                    label=None if kind in labelled else kind)
            labelled.add(kind)
    ax.set_yticks(range(len(rows)), [case_id for case_id, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("us added per request (log scale; lower is better)")
    ax.set_title("Ours vs first peer vs raw floor", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    if rows:
        ax.legend(loc="lower right", fontsize=8)


def _panel_e2e(ax: Axes, results: RunResults) -> None:
    servers = sorted({run.server for run in results.e2e})
    apps = ("bare", "ours", "peers")
    colours = {"bare": COLOURS["bare"], "ours": COLOURS["ours"], "peers": COLOURS["peer"]}
    for j, app in enumerate(apps):
        values = [next((r.rps for r in results.e2e if r.server == server and r.app == app
                        and r.status == "ok"), 0.0) for server in servers]
        ax.bar([i + (j - 1) * 0.27 for i in range(len(servers))], values, 0.27,
               color=colours[app], label=app)
    ax.set_xticks(range(len(servers)), servers)
    ax.set_ylabel("requests/s (higher is better)")
    ax.set_title("End to end on 127.0.0.1 (wrk shares the cores)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if servers:
        ax.legend(fontsize=8)


def _panel_stream(ax: Axes, results: RunResults) -> None:
    colours = {"ours": COLOURS["ours"], "peers": COLOURS["peer"]}
    for stream in results.streams:
        if stream.status != "ok" or not stream.samples:
            continue
        colour = colours.get(stream.stack)
        # Only what was observed: RSS before the request, RSS each time the client had
        # received another megabyte, and the kernel's peak (dotted). A stack that buffers the
        # body has its samples bunched at the end, after a peak the client never saw bytes in.
        ax.plot([mb for mb, _ in stream.samples], [rss for _, rss in stream.samples],
                color=colour, marker=".", markersize=3,
                label=f"{stream.stack}: before {stream.rss_before:.0f} MB, "
                      f"peak {stream.peak:.0f} MB")
        ax.plot([0], [stream.rss_before], color=colour, marker="o")
        if stream.peak:
            ax.axhline(stream.peak, color=colour, linestyle=":", linewidth=1)
    ax.set_xlabel("MB received by the client")
    ax.set_ylabel("RSS MB")
    ax.set_title("Streaming a large response through the full stack", fontsize=10)
    ax.grid(alpha=0.3)
    if results.streams:
        ax.legend(fontsize=8)
