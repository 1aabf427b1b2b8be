"""The bundled datasets (no download) and the checked CSV reader the command line also uses.

`load_iris()` and `load_digits()` return (X, y): X float64 of shape (n_samples, n_features),
y a 1-D array of class labels (species names for iris, ints 0..9 for digits). The files live
in `bpcore/data/` and are read with importlib.resources; see bpcore/data/README.md for their
provenance.
"""
from __future__ import annotations

import collections
import csv
import gzip
import io
import math
import os
import secrets
import zlib
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources

import numpy as np
import numpy.typing as npt

from ._validation import checked_path

__all__ = ["load_iris", "load_digits", "read_table", "Table", "DataError"]


class DataError(ValueError):
    """A CSV file that cannot be used: missing, empty, ragged, non-numeric or not finite.

    The message names the file, and the line and column where there is one. A subclass of
    ValueError.

    Attributes
    ----------
    text_column : str or None
        Where the error is a cell of text in a column that must hold numbers (not an empty
        cell, NaN or infinity): that column's name.

    Examples
    --------
    >>> from bpcore.datasets import DataError, Table
    >>> table = Table(["x", "y"], [["1", "2"], ["3", "oops"]], [2, 3], "data.csv")
    >>> try:
    ...     table.numeric(["x", "y"])
    ... except DataError as error:
    ...     print(error, error.text_column)
    data.csv, line 3: column 'y' must hold numbers, got 'oops' y
    """

    text_column: str | None = None


class Table:
    """A CSV file's header and rows of stripped text cells, checked to be rectangular.

    `lines[i]` is the line number of `rows[i]` in the file, for error messages. Made by
    `read_table`, which does the checking (the constructor checks nothing); ``len(table)`` is
    the number of rows.

    Parameters
    ----------
    columns : list of str
        The header's column names.
    rows : list of list of str
        The data rows, each as long as `columns`.
    lines : list of int
        The line number in the file of each row.
    source : str
        The file's name, for error messages.

    Examples
    --------
    >>> from bpcore.datasets import Table
    >>> table = Table(["x", "y"], [["1", "2"], ["3", "4"]], [2, 4], "data.csv")
    >>> len(table), table.index("y"), table.numeric(["y"]).ravel()
    (2, 1, array([2., 4.]))
    """

    def __init__(self, columns: list[str], rows: list[list[str]], lines: list[int],
                 source: str) -> None:
        self.columns = columns
        self.rows = rows
        self.lines = lines
        self.source = source
        self._positions: dict[str, int] | None = None  # index's lookup, made on first use

    def __len__(self) -> int:
        return len(self.rows)

    def index(self, name: str) -> int:
        """The position of the column `name` in `columns`.

        Parameters
        ----------
        name : str
            A column name from the header.

        Returns
        -------
        int
            Its index, from 0.

        Raises
        ------
        DataError
            If there is no such column; the message lists the columns.

        Examples
        --------
        >>> from bpcore.datasets import Table
        >>> Table(["x", "y"], [["1", "2"]], [2], "data.csv").index("y")
        1
        """
        # a dict, not list.index: a file of 40,000 columns took half a minute to match; made
        # again when it does not answer for the columns as they are now
        positions = self._positions or {}
        position = positions.get(name)
        if (position is None or position >= len(self.columns)
                or self.columns[position] != name):
            positions = {}
            for index, column in enumerate(self.columns):
                positions.setdefault(column, index)
            self._positions = positions
        try:
            return positions[name]
        except KeyError:
            shown = ", ".join(map(repr, self.columns[:12]))
            more = f", ... ({len(self.columns)} columns)" if len(self.columns) > 12 else ""
            separator = next((mark for mark in (";", "\t", "|") if len(self.columns) == 1
                              and mark in self.columns[0]), None)
            hint = (f" (the header is one column: bpcore reads values separated by commas, "
                    f"and this file seems to separate them by {separator!r})"
                    if separator else "")
            raise DataError(f"{self.source}: no column named {name!r}; the columns are "
                            f"{shown}{more}{hint}") from None

    def text(self, name: str) -> list[str]:
        """The cells of one column as a list of str, none of them empty.

        Parameters
        ----------
        name : str
            A column name from the header.

        Returns
        -------
        list of str
            The column's cells, one per row.

        Raises
        ------
        DataError
            If there is no such column or a cell in it is empty.

        Examples
        --------
        >>> from bpcore.datasets import Table
        >>> table = Table(["x", "label"], [["1", "cat"], ["2", "dog"]], [2, 3], "data.csv")
        >>> table.text("label")
        ['cat', 'dog']
        """
        column = self.index(name)
        cells = [row[column] for row in self.rows]
        for cell, line in zip(cells, self.lines):
            if cell == "":
                raise DataError(f"{self.source}, line {line}: empty cell in column {name!r}")
        return cells

    def numeric(self, names: Sequence[str]) -> npt.NDArray[np.float64]:
        """The columns `names` as a float64 array (n_rows, len(names)), every cell a finite
        number.

        Parameters
        ----------
        names : sequence of str
            Column names from the header, in the order wanted.

        Returns
        -------
        ndarray of float64, shape (n_rows, len(names))
            The values.

        Raises
        ------
        DataError
            If a column is missing, or a cell is empty, not a number, NaN or infinite; the
            message names the first such cell's line and column.

        Examples
        --------
        >>> from bpcore.datasets import Table
        >>> table = Table(["x", "y", "label"], [["1", "2.5", "cat"], ["3", "4", "dog"]], [2, 3],
        ...               "data.csv")
        >>> table.numeric(["y", "x"])
        array([[2.5, 1. ],
               [4. , 3. ]])
        """
        indices = [self.index(name) for name in names]
        cells = [[row[i] for i in indices] for row in self.rows]
        values: npt.NDArray[np.float64] | None
        try:
            values = np.array(cells, dtype=np.float64).reshape(len(cells), len(indices))
        except ValueError:
            values = None
        if values is not None and np.isfinite(values).all():
            return values
        # Slow path, only to name the first bad cell.
        for row, line in zip(cells, self.lines):
            for cell, name in zip(row, names):
                if cell == "":
                    raise DataError(f"{self.source}, line {line}: empty cell in column {name!r} "
                                    f"(missing values are not supported)")
                try:
                    number = float(cell)
                except ValueError:
                    error = DataError(f"{self.source}, line {line}: column {name!r} must hold "
                                      f"numbers, got {cell!r}")
                    error.text_column = name
                    raise error from None
                if not math.isfinite(number):
                    raise DataError(f"{self.source}, line {line}: column {name!r} holds "
                                    f"{cell!r}; values must be finite numbers")
        raise DataError(f"{self.source}: columns {', '.join(map(repr, names))} are not all "
                        f"finite numbers")


MAX_LINE = 1 << 26  # characters in one line of a CSV file (64 Mi; a wide row is a few MB)


def _rows(text_file: Iterable[str], source: str) -> Iterator[tuple[int, int, list[str]]]:
    """The CSV rows of text_file, each with the numbers of its first and last line. A quote
    never closed is an error naming the row it is in: csv takes the rest of the file into
    that one value, and the rows after it were lost without a word. A line is read after
    the file's own: when it comes back inside a value, the file ended inside quotes. (csv's
    strict mode would catch that, but also refuse what it reads well, such as a space after
    a closing quote.)"""

    # a line no file holds: NUL, and 128 random bits drawn for this read
    end = f"\x00bpcore: the end of the file {secrets.token_hex(16)}\x00"

    def lines() -> Iterator[str]:
        read = getattr(text_file, "readline", None)
        if read is None:  # a list of lines, say: already in memory
            yield from text_file
        else:  # a file: a line without end (/dev/zero, one line of gigabytes) read in bounds
            number = 0
            while line := read(MAX_LINE + 1):
                number += 1
                if len(line) > MAX_LINE:
                    raise DataError(f"{source}, line {number}: longer than {MAX_LINE:,} "
                                    f"characters; not a table of numbers and labels")
                yield line
        yield end + "\n"

    reader = csv.reader(lines())
    last = 0
    swallowed = "which would take the rest of the file into one value"
    try:
        for cells in reader:
            first = last + 1
            if cells == [end]:
                return
            if any(end in cell for cell in cells):
                raise DataError(f"{source}: the row that starts on line {first} holds a quoted "
                                f"value that is never closed, {swallowed}")
            last = reader.line_num
            yield first, last, cells
    except csv.Error as error:  # csv's limit on a value's length: an open quote, most likely
        quote = (f": unless a value there is that long, a quoted value in it is never closed, "
                 f"{swallowed}" if "field limit" in str(error) else "")
        raise DataError(f"{source}: the row that starts on line {last + 1} cannot be read as "
                        f"CSV ({error}){quote}") from None


def parse_table(text_file: Iterable[str], source: str) -> Table:
    """Read an open text file as CSV: one header line, then rows as wide as the header.

    Blank lines are skipped; cells are stripped of surrounding spaces.

    Parameters
    ----------
    text_file : iterable of str
        The lines of the file, e.g. a file opened with ``newline=""`` or an io.StringIO.
    source : str
        The file's name, for error messages.

    Returns
    -------
    Table
        The header and the rows, as text.

    Raises
    ------
    DataError
        If there is no header or no data row, the header has an empty or repeated column
        name, or a row's width differs from the header's.

    Examples
    --------
    >>> import io
    >>> from bpcore.datasets import parse_table
    >>> parse_table(io.StringIO("x,y\\n1,2\\n"), "data.csv").columns
    ['x', 'y']
    >>> parse_table(io.StringIO("x,y\\n1,2\\n3,4,5\\n"), "data.csv")
    Traceback (most recent call last):
        ...
    bpcore.datasets.DataError: data.csv, line 3: 3 values, but the header has 2 columns
    """
    rows_of = _rows(text_file, source)
    header = None
    for _, _, cells in rows_of:
        if any(cell.strip() for cell in cells):
            header = [cell.strip() for cell in cells]
            break
    if header is None:
        raise DataError(f"{source} is empty (expected a header line and data rows)")
    for position, name in enumerate(header):
        if name == "":
            index = ("; pandas' DataFrame.to_csv writes its index under an empty name: "
                     "save with index=False" if position == 0 else "")
            raise DataError(f"{source}: the header has an empty column name (column "
                            f"{position + 1}){index}")
    counts = collections.Counter(header)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise DataError(f"{source}: the header names column(s) {duplicates} more than once")
    rows, lines = [], []
    for first, last, cells in rows_of:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            where = (f"line {first}" if first == last else
                     f"lines {first} to {last} (a quoted value there runs over lines)")
            raise DataError(f"{source}, {where}: {len(cells)} "
                            f"{'value' if len(cells) == 1 else 'values'}, but the header has "
                            f"{len(header)} columns")
        rows.append([cell.strip() for cell in cells])
        lines.append(last)
    if not rows:
        raise DataError(f"{source} has a header but no data rows")
    return Table(header, rows, lines, source)


def read_table(path: str | os.PathLike[str]) -> Table:
    """The CSV file at `path` (gzip-compressed if it ends in .gz) as a checked Table.

    The file is read as UTF-8 (a byte-order mark is dropped) and as CSV: one header line,
    then rows as wide as the header; blank lines are skipped and cells are stripped of
    surrounding spaces.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file: a header line of column names, then one row per sample.

    Returns
    -------
    Table
        The header and the rows, as text; `Table.numeric` and `Table.text` convert columns.

    Raises
    ------
    DataError
        If the file is missing, a directory, not UTF-8 text or not readable as CSV; if it has
        no header or no data row, an empty or repeated column name in the header, or a row
        whose width differs from the header's. A subclass of ValueError.

    Examples
    --------
    >>> import os, tempfile
    >>> from bpcore.datasets import read_table
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "data.csv")
    ...     with open(path, "w") as file:
    ...         _ = file.write("x,y,label\\n1,2,cat\\n3,4,dog\\n")
    ...     table = read_table(path)
    >>> table.numeric(["x", "y"]).shape, table.text("label")
    ((2, 2), ['cat', 'dog'])
    """
    path = checked_path(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8-sig") as file:
            return parse_table(file, path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a directory, not a CSV file") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not UTF-8 text ({error.reason} at byte "
                        f"{error.start})") from None
    except (OSError, EOFError, csv.Error, zlib.error) as error:  # zlib: a damaged .gz
        raise DataError(f"{path}: cannot read it as CSV ({type(error).__name__}: "
                        f"{error})") from None


def _bundled(name: str) -> Table:
    """A bundled data file as a Table, read through importlib.resources."""
    resource = resources.files(__package__).joinpath("data", name)
    with resource.open("rb") as raw:
        binary = gzip.GzipFile(fileobj=raw) if name.endswith(".gz") else raw
        with io.TextIOWrapper(binary, encoding="utf-8", newline="") as text:
            return parse_table(text, f"bpcore/data/{name}")


def load_iris() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.str_]]:
    """Fisher's iris: X (150, 4) sepal and petal lengths and widths in cm, y the species names
    ('setosa', 'versicolor', 'virginica').

    Returns
    -------
    X : ndarray of float64, shape (150, 4)
        Sepal length, sepal width, petal length, petal width, in cm; 50 flowers per species.
    y : ndarray of str, shape (150,)
        Each flower's species.

    Examples
    --------
    >>> import numpy as np
    >>> from bpcore.datasets import load_iris
    >>> X, y = load_iris()
    >>> X.shape, np.unique(y).tolist()
    ((150, 4), ['setosa', 'versicolor', 'virginica'])
    """
    table = _bundled("iris.csv")
    features = [name for name in table.columns if name != "species"]
    return table.numeric(features), np.array(table.text("species"))


def load_digits() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """8x8 handwritten digits: X (1797, 64) pixel intensities 0..16 row by row, y the digits
    0..9 as int64.

    Returns
    -------
    X : ndarray of float64, shape (1797, 64)
        Each image's 8x8 pixels, row by row, as intensities from 0 to 16.
    y : ndarray of int64, shape (1797,)
        The digit each image shows, 0 to 9.

    Examples
    --------
    >>> from bpcore.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, y[:10].tolist()
    ((1797, 64), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> X.reshape(-1, 8, 8).shape
    (1797, 8, 8)
    """
    table = _bundled("digits.csv.gz")
    features = [name for name in table.columns if name != "digit"]
    return table.numeric(features), np.array(table.text("digit"), dtype=np.int64)
