"""The bundled datasets and the checked CSV reader behind them and the command line."""
import gzip
import io
import os
from importlib import resources

import numpy as np
import pytest

from bpcore.datasets import DataError, load_digits, load_iris, parse_table, read_table


def test_data_files_ship_inside_the_package():
    data = resources.files("bpcore").joinpath("data")
    for name in ("iris.csv", "digits.csv.gz", "README.md"):
        assert data.joinpath(name).is_file(), name
    readme = data.joinpath("README.md").read_text(encoding="utf-8")
    assert "Fisher" in readme and "Alpaydin" in readme and "CC BY 4.0" in readme


def test_load_iris():
    X, y = load_iris()
    assert X.shape == (150, 4) and X.dtype == np.float64
    assert y.shape == (150,) and y.dtype.kind == "U"
    names, counts = np.unique(y, return_counts=True)
    assert names.tolist() == ["setosa", "versicolor", "virginica"]
    assert counts.tolist() == [50, 50, 50]
    assert np.isfinite(X).all() and (X > 0).all() and X.max() < 10
    np.testing.assert_allclose(X[0], [5.1, 3.5, 1.4, 0.2])  # the first row of Fisher's table


def test_load_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert sorted(np.unique(y).tolist()) == list(range(10))
    assert X.min() == 0 and X.max() == 16
    assert (X == np.round(X)).all()
    assert y[:10].tolist() == list(range(10))


def test_loaders_return_fresh_arrays():
    X, _ = load_iris()
    X[...] = 0
    assert load_iris()[0].sum() > 0


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_table_strips_cells_and_skips_blank_lines(tmp_path):
    path = write(tmp_path, "t.csv", "a, b ,label\n\n1, 2 ,x\n3,4,y\n\n")
    table = read_table(path)
    assert table.columns == ["a", "b", "label"]
    assert table.text("label") == ["x", "y"]
    np.testing.assert_array_equal(table.numeric(["b", "a"]), [[2, 1], [4, 3]])
    assert table.lines == [3, 4]


def test_read_table_reads_gzip(tmp_path):
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as file:
        file.write("a,b\n1,2\n")
    np.testing.assert_array_equal(read_table(path).numeric(["a", "b"]), [[1, 2]])


def test_a_damaged_gzip_file_is_a_data_error(tmp_path):
    # zeroed bytes inside the deflate stream: zlib.error came out as a traceback
    rows = "".join(f"{i},{i * i}\n" for i in range(2000))
    data = bytearray(gzip.compress(("a,b\n" + rows).encode(), mtime=0))
    data[200:220] = bytes(20)
    path = tmp_path / "t.csv.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"t\.csv\.gz: cannot read it as CSV \(error: Error -3 "
                                        r"while decompressing data"):
        read_table(path)


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("\n\n", "is empty"),
    ("a,b\n", "no data rows"),
    ("a,b\n1,2\n3\n", "line 3: 1 value, but the header has 2 columns"),
    ("a,b\n1,2,3\n", "line 2: 3 values"),
    ("a,a\n1,2\n", "more than once"),
    ("a,\n1,2\n", "empty column name"),
    (",a\n0,2\n", r"empty column name \(column 1\); pandas' DataFrame.to_csv writes its "
                  r"index under an empty name: save with index=False$"),
    # a quote never closed took the rest of the file into one value: rows lost unsaid
    ("a,b\n1,2\n3,\"5 inch\n4,5\n6,7\n", r"the row that starts on line 3 holds a quoted "
                                        r"value that is never closed"),
    # a quote inside an unquoted value is a character: the counts of quotes prove nothing
    ("a,b\nx\"y,\"abc\n1,2\n3,4\n", r"the row that starts on line 2 holds a quoted value"),
    # past csv's limit on a value's length (128 KiB) before the end of the file
    ("a,b\n1,2\n3,\"x\n" + "4,5\n" * 40000, r"the row that starts on line 3 cannot be read "
                                             r"as CSV \(field larger than field limit"),
    ("a,b\n1,\"x\n2,3\n4\",5\n", r"lines 2 to 4 \(a quoted value there runs over lines\): "
                                 r"3 values, but the header has 2 columns"),
])
def test_read_table_rejects_malformed_files(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_table(write(tmp_path, "bad.csv", text))


def test_quoted_values_over_lines_and_a_semicolon_file():
    table = parse_table(io.StringIO('a,b\n1,"x\ny"\n"2",3\n'), "d.csv")
    assert table.rows == [["1", "x\ny"], ["2", "3"]] and table.lines == [3, 4]
    # a last row over lines with a quote in an unquoted value, and no final newline
    table = parse_table(io.StringIO('a,b\n"multi\nline",5" screen'), "d.csv")
    assert table.rows == [["multi\nline", '5" screen']] and table.lines == [3]
    table = parse_table(io.StringIO("a;b;y\n1;2;3\n"), "d.csv")
    with pytest.raises(DataError, match=r"no column named 'y'; the columns are 'a;b;y' \(the "
                                        r"header is one column: .* separate them by ';'\)$"):
        table.index("y")


@pytest.mark.parametrize("cell, message", [
    ("foo", "column 'b' must hold numbers, got 'foo'"),
    ("", "empty cell in column 'b'"),
    ("nan", "column 'b' holds 'nan'; values must be finite"),
    ("-inf", "column 'b' holds '-inf'; values must be finite"),
])
def test_numeric_names_the_bad_cell(tmp_path, cell, message):
    table = read_table(write(tmp_path, "t.csv", f"a,b\n1,2\n3,{cell}\n"))
    with pytest.raises(DataError, match=f"line 3: {message}"):
        table.numeric(["a", "b"])


def test_unknown_column_lists_the_columns(tmp_path):
    table = read_table(write(tmp_path, "t.csv", "a,b\n1,2\n"))
    with pytest.raises(DataError, match="no column named 'c'; the columns are 'a', 'b'"):
        table.index("c")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_table(tmp_path)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"PK\x03\x04\xff\xfe\x00\x81garbage")
    with pytest.raises(DataError):
        read_table(path)


def test_a_line_without_end_is_refused_in_bounds(tmp_path, monkeypatch):
    # /dev/zero, or a .gz of one line of gigabytes, was read whole: a MemoryError naming no file
    monkeypatch.setattr("bpcore.datasets.MAX_LINE", 100)
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n" + "3," + "9" * 200 + "\n")
    with pytest.raises(DataError, match=r"t\.csv, line 3: longer than 100 characters"):
        read_table(path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(DataError, match=r"zero, line 1: longer than 100 characters"):
            read_table("/dev/zero")
