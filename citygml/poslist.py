"""Many ``gml:posList`` texts read at once: numbers, ring lengths and ring checks.

Turning coordinate text into floats is most of what reading CityGML costs once the XML
is parsed. :func:`scan_pos_lists` reads every ring of a feature in one compiled pass
over the text (numba) instead of splitting each ring into Python strings.

Exactness: every number comes out bit for bit as ``float()`` would give it. Real PLATEAU
files write each double in its shortest round-trip form (15-17 significant digits,
``42.94147409013628``). Such a decimal ``w × 10**q`` is converted with the Eisel-Lemire
algorithm (Lemire, "Number parsing at a gigabyte per second", 2021), ported from Go's
``strconv`` (``eiselLemire64``): a 128-bit product with a truncated power of ten decides
the correctly rounded double, and the rare inputs it cannot decide are handed back.
Short decimals (mantissa below 2**53, ``|q| <= 22``) take Clinger's fast path first: both
factors are exact doubles and one IEEE operation rounds correctly. Anything that is not
a plain decimal number (``nan``, ``inf``, a typo), more than 18 significant digits, or a
number either method hands back makes the scan give up, so that the caller uses the
exact general path (Python's own conversion) with its precise errors.
"""

from __future__ import annotations

import numba
import numpy as np

#: Scan outcomes.
SCANNED, NOT_A_NUMBER, NOT_FAST = 0, 1, 2

_RING_SEPARATOR = "|"  # never valid inside a posList, so it cannot be confused with one
_POW10 = np.array([10.0**k for k in range(23)])  # exact doubles up to 1e22
_CLINGER_LIMIT = 2**53
_DIGITS_LIMIT = 10**17  # a mantissa below this takes one more digit without overflow


def _powers_of_ten_128(lowest: int, highest: int) -> tuple[np.ndarray, np.ndarray]:
    """High and low 64 bits of the 128-bit mantissa of each ``10**e``, normalised so its
    top bit is set and rounded down: the table of Go's ``detailedPowersOfTen``."""
    high, low = [], []
    for e in range(lowest, highest + 1):
        if e >= 0:
            m = 10**e
            bits = m.bit_length()
            m = m << (128 - bits) if bits <= 128 else m >> (bits - 128)
        else:
            d = 10**-e
            m = (1 << (127 + d.bit_length())) // d
        high.append(m >> 64)
        low.append(m & 0xFFFF_FFFF_FFFF_FFFF)
    return np.array(high, dtype=np.uint64), np.array(low, dtype=np.uint64)


_POW10_MIN, _POW10_MAX = -348, 347
_POW10_HIGH, _POW10_LOW = _powers_of_ten_128(_POW10_MIN, _POW10_MAX)
_U1, _U9, _U32, _U52, _U63 = (np.uint64(k) for k in (1, 9, 32, 52, 63))
_MASK32 = np.uint64(0xFFFF_FFFF)
_MASK_1FF = np.uint64(0x1FF)
_MASK52 = np.uint64((1 << 52) - 1)
_SIGN_BIT = np.uint64(1 << 63)
_ALL_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


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
        None when some text holds anything but plain decimal numbers, a count that is
        not a multiple of ``dimension``, or a number neither exact method decides:
        read those texts the general way.
    """
    buffer = np.frombuffer(_RING_SEPARATOR.join(texts).encode(), dtype=np.uint8)
    values, starts, good, status = _scan(buffer, len(texts), dimension)
    if status != SCANNED:
        return None
    return values.reshape(-1, dimension), starts.tolist(), good.tolist()


@numba.njit(cache=True, nogil=True)
def _multiply_64(a, b):  # pragma: no cover - compiled
    """Full 128-bit product of two uint64: ``(high, low)``."""
    a_low, a_high = a & _MASK32, a >> _U32
    b_low, b_high = b & _MASK32, b >> _U32
    low_low = a_low * b_low
    high_low = a_high * b_low
    low_high = a_low * b_high
    middle = (low_low >> _U32) + (high_low & _MASK32) + (low_high & _MASK32)
    low = (low_low & _MASK32) | (middle << _U32)
    high = a_high * b_high + (high_low >> _U32) + (low_high >> _U32) + (middle >> _U32)
    return high, low


@numba.njit(cache=True, nogil=True)
def _leading_zeros(x):  # pragma: no cover - compiled
    n = 0
    for shift in (32, 16, 8, 4, 2, 1):
        if x >> np.uint64(64 - shift) == 0:
            n += shift
            x = x << np.uint64(shift)
    return n


@numba.njit(cache=True, nogil=True)
def _eisel_lemire(mantissa, exponent10, negative):  # pragma: no cover - compiled
    """IEEE bits of the double nearest ``mantissa × 10**exponent10`` and True, or
    ``(0, False)`` when the algorithm cannot decide (then use an exact slow path).
    A line-by-line port of Go's ``strconv.eiselLemire64``."""
    if mantissa == 0:
        return (_SIGN_BIT if negative else np.uint64(0)), True
    if exponent10 < _POW10_MIN or exponent10 > _POW10_MAX:
        return np.uint64(0), False
    clz = _leading_zeros(mantissa)
    mantissa = mantissa << np.uint64(clz)
    exponent2 = ((217706 * exponent10) >> 16) + 64 + 1023 - clz
    row = exponent10 - _POW10_MIN
    x_high, x_low = _multiply_64(mantissa, _POW10_HIGH[row])
    if x_high & _MASK_1FF == _MASK_1FF and x_low + mantissa < mantissa:
        y_high, y_low = _multiply_64(mantissa, _POW10_LOW[row])
        merged_high, merged_low = x_high, x_low + y_high
        if merged_low < x_low:
            merged_high += _U1
        if merged_high & _MASK_1FF == _MASK_1FF and merged_low == _ALL_ONES and y_low + mantissa < mantissa:
            return np.uint64(0), False
        x_high, x_low = merged_high, merged_low
    msb = x_high >> _U63
    result = x_high >> (msb + _U9)
    exponent2 -= 1 - int(msb)
    if x_low == 0 and x_high & _MASK_1FF == 0 and result & np.uint64(3) == _U1:
        return np.uint64(0), False  # exactly half-way: ambiguous
    result += result & _U1
    result = result >> _U1
    if result >> np.uint64(53) > 0:
        result = result >> _U1
        exponent2 += 1
    if exponent2 <= 0 or exponent2 >= 0x7FF:
        return np.uint64(0), False  # subnormal, infinite
    bits = (np.uint64(exponent2) << _U52) | (result & _MASK52)
    if negative:
        bits |= _SIGN_BIT
    return bits, True


@numba.njit(cache=True, nogil=True)
def _scan(buffer, n_rings, dimension):  # pragma: no cover - compiled
    values = np.empty(len(buffer) // 2 + dimension, dtype=np.float64)
    value_bits = values.view(np.uint64)
    starts = np.zeros(n_rings + 1, dtype=np.int64)
    good = np.zeros(n_rings, dtype=np.bool_)
    failed = np.empty(0, dtype=np.float64)
    n = 0  # numbers read
    ring = 0
    pos = 0
    size = len(buffer)
    while True:
        # Skip whitespace; a separator or the end closes the ring.
        while pos < size and (
            buffer[pos] == 32 or buffer[pos] == 10 or buffer[pos] == 9 or buffer[pos] == 13
        ):
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
        truncated = False  # more significant digits than a mantissa holds
        while pos < size and 48 <= buffer[pos] <= 57:
            if mantissa < _DIGITS_LIMIT:
                mantissa = mantissa * 10 + (buffer[pos] - 48)
            else:
                truncated = True
            digits += 1
            pos += 1
        if pos < size and buffer[pos] == 46:
            pos += 1
            while pos < size and 48 <= buffer[pos] <= 57:
                if mantissa < _DIGITS_LIMIT:
                    mantissa = mantissa * 10 + (buffer[pos] - 48)
                    scale -= 1
                else:
                    truncated = True
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
        if pos < size and not (
            buffer[pos] == 32
            or buffer[pos] == 10
            or buffer[pos] == 9
            or buffer[pos] == 13
            or buffer[pos] == 124
        ):
            return failed, starts, good, NOT_A_NUMBER
        if truncated:
            return failed, starts, good, NOT_FAST
        while mantissa >= _CLINGER_LIMIT and mantissa % 10 == 0:
            mantissa //= 10  # "4398187670173861.0": trailing zeros are not precision
            scale += 1
        if mantissa < _CLINGER_LIMIT and -22 <= scale <= 22:
            value = mantissa * _POW10[scale] if scale >= 0 else mantissa / _POW10[-scale]
            values[n] = -value if negative else value
        else:
            bits, exact = _eisel_lemire(np.uint64(mantissa), scale, negative)
            if not exact:
                return failed, starts, good, NOT_FAST
            value_bits[n] = bits
        n += 1
    if ring != n_rings:
        return failed, starts, good, NOT_A_NUMBER
    return values[:n].copy(), starts, good, SCANNED  # no slack kept alive by ring views


# Compile (or load from numba's cache) once at import, not inside the first read.
scan_pos_lists(["0 0 0 1 0 0 1 1 0 0 0 0"], 3)
