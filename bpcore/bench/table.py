"""The `bpcore bench` table: its rows (times, ratios, speed targets) and their text.

By default the compiled time and the ratios of the others to it, in at most TABLE_WIDTH
characters; `wide` adds every time and what else was measured, `targets` the speed targets.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# bpcore's two backends, the peers, and the row's floor: the time this machine needs for work
# the case cannot skip (bpcore.bench.floors); its "ratio" floor/compiled is the efficiency
IMPLEMENTATIONS = ("compiled", "fallback", "numpy", "torch", "jax", "floor")
OTHER = "other"  # the table's column for another library (FANN, scikit-learn), named per row


@dataclass
class Target:
    """A speed target: the ratio `name` (e.g. "numpy/compiled") should reach `minimum`."""
    name: str
    value: float
    minimum: float

    def __str__(self) -> str:
        verdict = "met" if self.value >= self.minimum else "MISSED"  # NaN (no value): MISSED
        return f"{self.name} {self.value:.2f}x >= {self.minimum:g} {verdict}"


@dataclass
class Row:
    """One line of the table: seconds (or MiB) per implementation, their ratios to the
    compiled time, what else was measured and the speed targets the row checks."""
    key: str
    title: str
    unit: str
    values: dict[str, float]
    ratios: dict[str, float] = field(default_factory=dict)
    label: str = ""  # a shorter title for the default table; "" means the title
    note: str = ""  # measured besides the times (GFLOP/s, time per connection, accuracy)
    targets: list[Target] = field(default_factory=list)


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "MiB":
        return f"{value:.2f} MiB"
    for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
        if value >= scale or suffix == "ns":
            return f"{value / scale:.3g} {suffix}"
    raise AssertionError("unreachable: the loop returns at its last suffix, ns")


def _other(row: Row) -> str | None:
    """The key of the other library's value in `row` (FANN, scikit-learn), if any."""
    return next((name for name in row.values if name not in IMPLEMENTATIONS), None)


TABLE_WIDTH = 120  # the default table's widest line, in characters
RATIO_COLUMNS = (*IMPLEMENTATIONS[1:], OTHER)
# the default table's ratio columns: the peers and the floor (the fallback's only with --wide)
DEFAULT_COLUMNS = (*IMPLEMENTATIONS[2:], OTHER)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def format_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 1000 else f"{ratio:.0f}x"  # decimals only where they tell


def _ratio_cells(row: Row, width: int, columns: Sequence[str]) -> str:
    """The other implementations' time divided by the compiled one's, one cell each."""
    keys = [_other(row) if name == OTHER else name for name in columns]
    return "".join(format_ratio(row.ratios[name]).rjust(width) if name and name in row.ratios
                   else "-".rjust(width) for name in keys)


def format_table(rows: Sequence[Row], wide: bool = False, targets: bool = False) -> str:
    """The rows as text: by default the compiled time and the ratios, in at most TABLE_WIDTH
    characters; wide=True adds every implementation's time, the full titles and what else
    was measured (GFLOP/s, ...); targets=True adds the speed targets, met or MISSED. The
    "other" column holds another library (FANN, scikit-learn), named in the row's title."""
    if wide:
        title_width = max([len("case"), *(len(row.title) for row in rows)])
        header = (f"{'case':<{title_width}} {'unit':<9}"
                  + "".join(f"{name:>10}" for name in (*IMPLEMENTATIONS, OTHER))
                  + "".join(f"{name + '/comp':>14}" for name in RATIO_COLUMNS))
        lines = []
    else:
        fixed = 1 + 8 + 10 + 8 * len(DEFAULT_COLUMNS)  # the unit, compiled and ratio columns
        title_width = min(max([len("case"), *(len(row.label or row.title) for row in rows)]),
                          TABLE_WIDTH - fixed)
        header = (f"{'case':<{title_width}} {'unit':<8}{'compiled':>10}"
                  + "".join(f"{name:>8}" for name in DEFAULT_COLUMNS))
        lines = ["compiled: its time; numpy, torch, jax, other: their time divided by "
                 "compiled's (above 1: compiled wins);",
                 "floor: the machine's floor divided by compiled's time (the efficiency, 1 at "
                 "the floor); fallback: with --wide"]
    extra = [name for name, shown in (("targets", targets), ("notes", wide)) if shown]
    header += f"  {'; '.join(extra)}" if extra else ""
    lines += [header, "-" * len(header)]
    for row in rows:
        if wide:
            keys = [*IMPLEMENTATIONS, _other(row)]
            line = f"{row.title:<{title_width}} {row.unit:<9}" + "".join(
                f"{format_value(row.values.get(name) if name else None, row.unit):>10}"
                for name in keys) + _ratio_cells(row, 14, RATIO_COLUMNS)
        else:
            line = (f"{_clip(row.label or row.title, title_width):<{title_width}} "
                    f"{row.unit:<8}{format_value(row.values.get('compiled'), row.unit):>10}"
                    + _ratio_cells(row, 8, DEFAULT_COLUMNS))
        texts = ([", ".join(str(target) for target in row.targets)] if targets else []) + (
            [row.note] if wide else [])
        texts = [text for text in texts if text]
        lines.append(line + (f"  {'; '.join(texts)}" if texts else ""))
    return "\n".join(lines)
