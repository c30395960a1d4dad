"""Many ``gml:posList`` texts read at once: numbers, ring lengths and ring checks.

Turning coordinate text into floats is most of what reading CityGML costs once the XML
is parsed. :func:`scan_pos_lists` reads every ring of a feature in one compiled pass
over the text (numba) instead of splitting each ring into Python strings.

Exactness: a number is converted only when its decimal mantissa is below 2**53 and its
decimal exponent within ±22. Both factors are then exact doubles and one IEEE division
or multiplication is correctly rounded, so the result is bit for bit what ``float()``
gives (Clinger's fast path; PLATEAU writes 9-12 significant digits). Any other number,
and anything that is not a plain decimal number (``nan``, ``inf``, a typo), makes the
scan give up so the caller can use the exact general path with its precise errors.
"""
from __future__ import annotations

import numba
import numpy as np

#: Scan outcomes.
SCANNED, NOT_A_NUMBER, NOT_FAST = 0, 1, 2

_RING_SEPARATOR = "|"  # never valid inside a posList, so it cannot be confused with one
_POW10 = np.array([10.0 ** k for k in range(23)])  # exact doubles up to 1e22
_MANTISSA_LIMIT = 2 ** 53


def scan_pos_lists(texts: list[str], dimension: int) -> tuple[np.ndarray, list[int], list[bool]] | None:
    """Parse the coordinate lists of many rings into one array.

    Parameters
    ----------
    texts : list of str
        ``gml:posList`` contents, numbers separated by whitespace, in the axis order of
        the file (no axis swap is done here).
    dimension : int
        ``srsDimension`` of every list.

    Returns
    -------
    (values, starts, good) or None
        ``values`` is ``(n, dimension)`` float64; ring ``i`` is
        ``values[starts[i]:starts[i + 1]]``; ``good[i]`` is True when the ring has a
        whole number of vertices, at least four, is closed and its first three vertices
        are distinct (the rings :func:`citygml.geometry.check_ring` passes unchanged).
        None when some text holds anything but plain decimal numbers, or a number
        outside the exact fast path: read those texts the general way.
    """
    buffer = np.frombuffer(_RING_SEPARATOR.join(texts).encode(), dtype=np.uint8)
    values, starts, good, status = _scan(buffer, len(texts), dimension)
    if status != SCANNED:
        return None
    return values.reshape(-1, dimension), starts.tolist(), good.tolist()


@numba.njit(cache=True, nogil=True)
def _scan(buffer, n_rings, dimension):  # pragma: no cover - compiled
    values = np.empty(len(buffer) // 2 + dimension, dtype=np.float64)
    starts = np.zeros(n_rings + 1, dtype=np.int64)
    good = np.zeros(n_rings, dtype=np.bool_)
    failed = np.empty(0, dtype=np.float64)
    n = 0  # numbers read
    ring = 0
    pos = 0
    size = len(buffer)
    while True:
        # Skip whitespace; a separator or the end closes the ring.
        while pos < size and (buffer[pos] == 32 or buffer[pos] == 10 or buffer[pos] == 9
                              or buffer[pos] == 13):
            pos += 1
        if pos == size or buffer[pos] == 124:
            count = n - starts[ring] * dimension
            if count % dimension:
                return failed, starts, good, NOT_A_NUMBER  # the careful path names it
            vertices = count // dimension
            starts[ring + 1] = starts[ring] + vertices
            if vertices >= 4:
                first = starts[ring] * dimension
                last = n - dimension
                closed = True
                d01 = d12 = d02 = False
                for axis in range(dimension):
                    a = values[first + axis]
                    b = values[first + dimension + axis]
                    c = values[first + 2 * dimension + axis]
                    closed = closed and a == values[last + axis]
                    d01 = d01 or a != b
                    d12 = d12 or b != c
                    d02 = d02 or a != c
                good[ring] = closed and d01 and d12 and d02
            ring += 1
            if pos == size:
                break
            if ring == n_rings:
                return failed, starts, good, NOT_A_NUMBER  # a "|" inside a posList
            pos += 1
            continue
        # One number: [+-] digits [. digits] [(e|E) [+-] digits], then whitespace or an end.
        negative = buffer[pos] == 45
        if negative or buffer[pos] == 43:
            pos += 1
        mantissa = 0
        scale = 0
        digits = 0
        while pos < size and 48 <= buffer[pos] <= 57:
            if mantissa < _MANTISSA_LIMIT:
                mantissa = mantissa * 10 + (buffer[pos] - 48)
            else:
                scale += 1  # beyond the fast path; flagged below
            digits += 1
            pos += 1
        if pos < size and buffer[pos] == 46:
            pos += 1
            while pos < size and 48 <= buffer[pos] <= 57:
                if mantissa < _MANTISSA_LIMIT:
                    mantissa = mantissa * 10 + (buffer[pos] - 48)
                    scale -= 1
                digits += 1
                pos += 1
        if digits == 0:
            return failed, starts, good, NOT_A_NUMBER
        if pos < size and (buffer[pos] == 101 or buffer[pos] == 69):
            pos += 1
            exponent_negative = pos < size and buffer[pos] == 45
            if pos < size and (buffer[pos] == 45 or buffer[pos] == 43):
                pos += 1
            exponent = 0
            exponent_digits = 0
            while pos < size and 48 <= buffer[pos] <= 57:
                if exponent < 10000:
                    exponent = exponent * 10 + (buffer[pos] - 48)
                exponent_digits += 1
                pos += 1
            if exponent_digits == 0:
                return failed, starts, good, NOT_A_NUMBER
            scale += -exponent if exponent_negative else exponent
        if pos < size and not (buffer[pos] == 32 or buffer[pos] == 10 or buffer[pos] == 9
                               or buffer[pos] == 13 or buffer[pos] == 124):
            return failed, starts, good, NOT_A_NUMBER
        if mantissa >= _MANTISSA_LIMIT or scale > 22 or scale < -22:
            return failed, starts, good, NOT_FAST
        value = mantissa * _POW10[scale] if scale >= 0 else mantissa / _POW10[-scale]
        values[n] = -value if negative else value
        n += 1
    if ring != n_rings:
        return failed, starts, good, NOT_A_NUMBER
    return values[:n], starts, good, SCANNED


# Compile (or load from numba's cache) once at import, not inside the first read.
scan_pos_lists(["0 0 0 1 0 0 1 1 0 0 0 0"], 3)
