"""The compiled posList scanner: bit-for-bit what float() gives, or a clear refusal."""
from __future__ import annotations

import numpy as np
import pytest

from citygml import FileReader, open_dataset
from citygml.geometry import check_ring
from citygml.poslist import scan_pos_lists


def exact(texts: list[str]) -> np.ndarray:
    return np.array([float(token) for text in texts for token in text.split()])


FORMATS = ["{:.9f}", "{:.3f}", "{:.12g}", "{:.6e}", "{:.15g}", "{:+.4f}", "{:.0f}", "{!r}"]


def random_texts(rng: np.random.Generator, fmt: str, n_rings: int) -> list[str]:
    """Rings written the many ways exporters write numbers (PLATEAU's %.9f among them)."""
    texts = []
    for _ in range(n_rings):
        vertices = rng.uniform(-2000, 2000, size=(int(rng.integers(4, 12)), 3))
        vertices[-1] = vertices[0]
        tokens = [fmt.format(v) for v in vertices.ravel()]
        if rng.random() < 0.2:  # zero-padded
            tokens = [t.replace("0.", "000.", 1) if t.startswith("0.") else t for t in tokens]
        separator = [" ", "  ", "\n", "\t", " \r\n "][int(rng.integers(5))]
        texts.append(separator.join(tokens) + (" " if rng.random() < 0.3 else ""))
    return texts


def test_numbers_are_bit_for_bit_those_of_float():
    rng = np.random.default_rng(11)
    scanned = 0
    for case in range(400):
        fmt = FORMATS[case % len(FORMATS)]
        texts = random_texts(rng, fmt, int(rng.integers(1, 20)))
        result = scan_pos_lists(texts, 3)
        if fmt == "{!r}":  # 16-17 significant digits: beyond the exact fast path
            assert result is None
            continue
        values, starts, good = result
        scanned += 1
        assert values.ravel().tobytes() == exact(texts).tobytes()
        counts = [len(t.split()) // 3 for t in texts]
        assert starts == [0, *np.cumsum(counts).tolist()]
        assert all(good)
    assert scanned == 350


def test_good_rings_are_the_ones_check_ring_passes_unchanged():
    square = "0 0 5 10 0 5 10 10 5 0 10 5"
    texts = [square + " 0 0 5",               # closed: good
             square,                          # unclosed
             "0 0 5 0 0 5 10 10 5 0 0 5",     # first two vertices equal
             "1 1 1 2 2 2 1 1 1",             # three vertices
             "0 0 5.0 10 0 5 10 10 5 0 10 5 0.000 0 5.00",  # closed as numbers, not as text
             ""]
    values, starts, good = scan_pos_lists(texts, 3)
    assert good == [True, False, False, False, True, False]
    problems = []
    for i in range(len(texts)):
        ring = values[starts[i]:starts[i + 1]]
        if len(ring):
            points, problem = check_ring(ring)
            assert (problem is None) == good[i]
            problems.append(problem)
    assert problems == [None, "unclosed", "degenerate", "degenerate", None]


@pytest.mark.parametrize("token", [
    "nan", "inf", "-inf", "1e", ".", "-", "+", "139.6O1", "1,2", "1-2", "1.2.3", "0x1A",
    "1_000", "１２", "3|4", "e5", "1e+", "--1"])
def test_anything_but_a_plain_decimal_number_is_refused(token):
    assert scan_pos_lists([f"1 2 3 {token} 5 6 1 2 3 4 5 6"], 3) is None


@pytest.mark.parametrize("token", ["1.2345678901234567", "1e23", "1e-23", "98765432109876543"])
def test_numbers_beyond_the_exact_fast_path_are_refused(token):
    assert scan_pos_lists([f"1 2 3 {token} 5 6"], 3) is None


def test_edge_spellings_match_float():
    tokens = ["-0", "+0.5", ".25", "5.", "0012.5", "1E3", "2.5e-3", "-7e+2", "9007199254740991",
              "1e22", "1e-22", "123456789.123456"]
    text = " ".join(tokens)
    values, _, _ = scan_pos_lists([text], 3)
    expected = np.array([float(t) for t in tokens])
    assert values.ravel().tobytes() == expected.tobytes()  # -0.0 keeps its sign too


def test_reader_reads_long_numbers_exactly_through_the_general_path(write_gml, gml):
    # 17 significant digits, as some exporters write: beyond the fast path, still exact.
    long_square = " ".join(f"{float(t) + 1e-12:.17g}" for t in gml.square.split())
    last = " ".join(long_square.split()[:3])
    long_square = " ".join(long_square.split()[:-3]) + " " + last
    reader = FileReader(open_dataset(write_gml(gml.city_model(gml.building("long", long_square))))[0])
    [building] = reader.read_all()
    ring = building.polygons(0)[0].exterior
    swapped = exact([long_square]).reshape(-1, 3)[:, [1, 0, 2]]
    assert ring.shape == (5, 3) and np.array_equal(ring, swapped)
    assert reader.problems == []
