"""The compiled posList scanner: bit-for-bit what float() gives, or a clear refusal."""

from __future__ import annotations

import sys
from fractions import Fraction

import numpy as np
import pytest

from citygml import FileReader, open_dataset
from citygml.geometry import check_ring
from citygml.poslist import scan_pos_lists


def exact(texts: list[str]) -> np.ndarray:
    return np.array([float(token) for text in texts for token in text.split()])


FORMATS = ["{!r}", "{:.17g}", "{:.15g}", "{:.9f}", "{:.3f}", "{:.12g}", "{:.6e}", "{:+.4f}", "{:.0f}"]


def random_texts(rng: np.random.Generator, fmt: str, n_rings: int) -> list[str]:
    """Rings written the many ways exporters write numbers: PLATEAU's shortest round-trip
    doubles ({!r}), fixed decimals, exponents, signs, zero padding, any whitespace."""
    texts = []
    for _ in range(n_rings):
        n = int(rng.integers(4, 12))
        vertices = np.column_stack(
            [rng.uniform(20, 46, n), rng.uniform(122, 154, n), rng.uniform(-10, 4000, n)]
        )
        vertices *= 10.0 ** rng.integers(-8, 8)  # other CRSs and units
        vertices[-1] = vertices[0]
        tokens = [fmt.format(v) for v in vertices.ravel().tolist()]
        if rng.random() < 0.2:
            tokens = ["00" + t if t[0].isdigit() else t for t in tokens]  # zero-padded
        separator = [" ", "  ", "\n", "\t", " \r\n "][int(rng.integers(5))]
        texts.append(separator.join(tokens) + (" " if rng.random() < 0.3 else ""))
    return texts


def significant_digits(token: str) -> int:
    mantissa = token.lstrip("+-").split("e")[0].split("E")[0].replace(".", "")
    return len(mantissa.lstrip("0").rstrip("0"))


def test_numbers_are_bit_for_bit_those_of_float():
    rng = np.random.default_rng(11)
    scanned = good_rings = rings = 0
    for case in range(450):
        texts = random_texts(rng, FORMATS[case % len(FORMATS)], int(rng.integers(1, 20)))
        result = scan_pos_lists(texts, 3)
        if result is None:  # only for more significant digits than a mantissa holds
            assert any(significant_digits(t) > 18 for text in texts for t in text.split())
            continue
        values, starts, good = result
        assert values.ravel().tobytes() == exact(texts).tobytes()
        counts = [len(t.split()) // 3 for t in texts]
        assert starts == [0, *np.cumsum(counts).tolist()]
        for i, text in enumerate(texts):
            ring = exact([text]).reshape(-1, 3)
            assert good[i] == (
                len(ring) >= 4
                and (ring[0] == ring[-1]).all()
                and (ring[0] != ring[1]).any()
                and (ring[1] != ring[2]).any()
                and (ring[0] != ring[2]).any()
            )
        scanned += 1
        good_rings += sum(good)
        rings += len(good)
    assert scanned > 400 and good_rings > 0.9 * rings


def test_shortest_round_trip_doubles_of_every_magnitude():
    # Eisel-Lemire over the whole exponent range: exact, or the number is handed back,
    # and only when it is one the algorithm cannot decide: a decimal that is exactly a
    # double with a mantissa of 2**53 or more (the exact product looks half-way).
    rng = np.random.default_rng(5)
    doubles = rng.uniform(1, 10, 20_000) * 10.0 ** rng.integers(-300, 300, 20_000)
    doubles[::2] *= -1
    handed_back = 0
    for token in (repr(v) for v in doubles.tolist()):
        result = scan_pos_lists([f"{token} 0 0"], 3)
        if result is None:
            assert Fraction(token) == Fraction(float(token)), token
            handed_back += 1
        else:
            assert result[0][0, 0].tobytes() == np.float64(float(token)).tobytes(), token
    assert handed_back < 100


def test_good_rings_are_the_ones_check_ring_passes_unchanged():
    square = "0 0 5 10 0 5 10 10 5 0 10 5"
    texts = [
        square + " 0 0 5",  # closed: good
        square,  # unclosed
        "0 0 5 0 0 5 10 10 5 0 0 5",  # first two vertices equal
        "1 1 1 2 2 2 1 1 1",  # three vertices
        "0 0 5.0 10 0 5 10 10 5 0 10 5 0.000 0 5.00",  # closed as numbers, not as text
        "",
    ]
    values, starts, good = scan_pos_lists(texts, 3)
    assert good == [True, False, False, False, True, False]
    problems = []
    for i in range(len(texts)):
        ring = values[starts[i] : starts[i + 1]]
        if len(ring):
            points, problem = check_ring(ring)
            assert (problem is None) == good[i]
            problems.append(problem)
    assert problems == [None, "unclosed", "degenerate", "degenerate", None]


@pytest.mark.parametrize(
    "token",
    [
        "nan",
        "inf",
        "-inf",
        "1e",
        ".",
        "-",
        "+",
        "139.6O1",
        "1,2",
        "1-2",
        "1.2.3",
        "0x1A",
        "1_000",
        "１２",
        "3|4",
        "e5",
        "1e+",
        "--1",
    ],
)
def test_anything_but_a_plain_decimal_number_is_refused(token):
    assert scan_pos_lists([f"1 2 3 {token} 5 6 1 2 3 4 5 6"], 3) is None


@pytest.mark.parametrize(
    "token",
    [
        "1.2345678901234567890",  # 20 significant digits: more than a mantissa holds
        "5e-324",
        "2.2250738585072e-310",  # subnormal
        "1e309",
        "1e-400",  # beyond the double range
        # Undecidable for Eisel-Lemire, so handed back: exactly half-way between two
        # doubles, or exactly a double whose exact product looks half-way.
        "9007199254740993",
        "1e23",
        "479271555303782.75",
    ],
)
def test_numbers_the_scan_cannot_convert_exactly_are_handed_back(token):
    assert scan_pos_lists([f"1 2 3 {token} 5 6"], 3) is None


def test_edge_spellings_match_float():
    tokens = [
        "-0",
        "+0.5",
        ".25",
        "5.",
        "0012.5",
        "1E3",
        "2.5e-3",
        "-7e+2",
        "9007199254740991",
        "1e22",
        "1e-22",
        "123456789.123456",
        "42.94147409013628",
        "141.44132418475294",
        "4398187670173861.0",
        "1.7976931348623157e308",
        "2.2250738585072014e-308",
        "0.1",
        "0.30000000000000004",
        "-0.0e-400",
        "8.98846567431158e307",
    ]
    text = " ".join(tokens)
    values, _, _ = scan_pos_lists([text], 3)
    expected = np.array([float(t) for t in tokens])
    assert values.ravel().tobytes() == expected.tobytes()  # -0.0 keeps its sign too


def test_reader_reads_numbers_the_scan_hands_back_exactly(write_gml, gml):
    # 20 significant digits: beyond the scan, read exactly by the general path.
    long_square = " ".join(f"{float(t) + 1e-12:.20g}" for t in gml.square.split())
    last = " ".join(long_square.split()[:3])
    long_square = " ".join(long_square.split()[:-3]) + " " + last
    reader = FileReader(open_dataset(write_gml(gml.city_model(gml.building("long", long_square))))[0])
    [building] = reader.read_all()
    ring = building.polygons(0)[0].exterior
    swapped = exact([long_square]).reshape(-1, 3)[:, [1, 0, 2]]
    assert ring.shape == (5, 3) and np.array_equal(ring, swapped)
    assert reader.problems == []


def test_small_files_read_the_general_way_with_the_same_output(plateau_dir, monkeypatch):
    """A file below ``SCAN_MIN_BYTES`` skips the compiled scanner (so `machi info` on it
    need not load numba) and reads exactly the same coordinates."""
    import citygml.reader as reader
    from citygml import Dataset, FileReader

    path = plateau_dir / "yokosuka/udx/bldg/52397519_bldg_6697_op.gml"
    dataset, only = Dataset.for_path(path)
    [source] = dataset.sources(only=only)

    def read():
        return [(obj.gml_id, obj.all_vertices().tobytes()) for obj in FileReader(source)]

    monkeypatch.setattr(reader, "SCAN_MIN_BYTES", 1 << 40)
    monkeypatch.delitem(sys.modules, "citygml.poslist", raising=False)
    assert FileReader(source)._scan_pos_lists is None
    general = read()
    monkeypatch.setattr(reader, "SCAN_MIN_BYTES", 0)
    assert FileReader(source)._scan_pos_lists is not None
    assert read() == general and len(general) == 13
