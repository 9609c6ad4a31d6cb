"""Transcendental functions with one result on every code path, machine and numpy build.

``math.log`` calls the C library and ``numpy.log`` calls numpy's own SIMD kernels, which
differ from each other, and between CPUs (an AVX-512 machine takes another kernel), in
the last bit. A draw or a hazard that went through either would then depend on which
path computed it. Every transcendental value that enters a draw, a hazard or a
decision is computed here instead, from IEEE-754 basic operations only (``+ - * /``,
``sqrt``, and the exact ``frexp``/``ldexp``/``floor``), which are correctly rounded
everywhere. Each function has a scalar form (the event loop, compiled with mypyc or
not) and an array form (vectorised population and triage code) that perform the same
operations in the same order, so the two are bit-identical (``tests/test_fmath.py``
pins a table of values).

The algorithms are those of fdlibm (Sun Microsystems, 1993; the basis of most C
libraries' ``log`` and ``exp``) and Wichura's AS 241 (1988) for the normal quantile:
accurate to about one unit in the last place, not correctly rounded, but always the
same. The compiled copy is built with ``-ffp-contract=off`` so that no fused
multiply-add changes an operation's rounding.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "exp",
    "exp_array",
    "log",
    "log_array",
    "neg_log1m",
    "neg_log1m_array",
    "norm_ppf",
    "norm_ppf_array",
    "sigmoid",
]

FloatArray = npt.NDArray[np.float64]

# fdlibm e_log.c: ln2 split so that k * LN2_HI is exact for |k| < 2**11
LN2_HI: Final = 6.93147180369123816490e-01
LN2_LO: Final = 1.90821492927058770002e-10
_LG1: Final = 6.666666666666735130e-01
_LG2: Final = 3.999999999940941908e-01
_LG3: Final = 2.857142874366239149e-01
_LG4: Final = 2.222219843214978396e-01
_LG5: Final = 1.818357216161805012e-01
_LG6: Final = 1.531383769920937332e-01
_LG7: Final = 1.479819860511658591e-01
_SQRT_HALF: Final = 0.70710678118654752440

# fdlibm e_exp.c
_INV_LN2: Final = 1.44269504088896338700e00
_P1: Final = 1.66666666666666019037e-01
_P2: Final = -2.77777777770155933842e-03
_P3: Final = 6.61375632143793436117e-05
_P4: Final = -1.65339022054652515390e-06
_P5: Final = 4.13813679705723846039e-08
_EXP_MAX: Final = 709.782712893383973096
_EXP_MIN: Final = -745.13321910194110842


# ------------------------------------------------------------------------------ log
def log(x: float) -> float:
    """Return the natural logarithm of ``x`` (fdlibm's method, basic operations only).

    Parameters
    ----------
    x : float
        A positive, finite number. ``0`` gives ``-inf``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``x`` is negative or not finite.
    """
    if x == 0.0:
        return -math.inf
    if not (x > 0.0 and x < math.inf):
        raise ValueError(f"log(x={x!r}): x must be positive and finite.")
    m, e = math.frexp(x)  # x = m * 2**e, 0.5 <= m < 1, exact
    if m < _SQRT_HALF:
        m = m * 2.0
        e = e - 1
    f = m - 1.0  # exact (Sterbenz): m in [sqrt(1/2), sqrt(2))
    k = float(e)
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    return k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)


def log_array(x: npt.ArrayLike) -> FloatArray:
    """Return :func:`log` of every element, bit-identical to the scalar form.

    Raises
    ------
    ValueError
        If any element is negative or not finite.
    """
    x = np.asarray(x, dtype=np.float64)
    if np.any(~(x >= 0.0)) or np.any(x == np.inf):
        bad = x[~((x >= 0.0) & (x < np.inf))][0]
        raise ValueError(f"log(x={bad!r}): x must be positive and finite.")
    zero = x == 0.0
    m, e = np.frexp(np.where(zero, 1.0, x))
    low = m < _SQRT_HALF
    m = np.where(low, m * 2.0, m)
    k = (e - low.astype(e.dtype)).astype(np.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    out = k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
    return np.where(zero, -np.inf, out)


def neg_log1m(u: float) -> float:
    """Return ``-log(1 - u)``: the unit-exponential draw of a uniform ``u`` in ``[0, 1)``.

    ``1 - u`` is exact for the 53-bit uniforms of :mod:`sim.rng`, so this is
    :func:`log` of an exact argument.
    """
    return -log(1.0 - u)


def neg_log1m_array(u: npt.ArrayLike) -> FloatArray:
    """Return :func:`neg_log1m` of every element, bit-identical to the scalar form."""
    return -log_array(1.0 - np.asarray(u, dtype=np.float64))


# ------------------------------------------------------------------------------ exp
def exp(x: float) -> float:
    """Return ``e**x`` (fdlibm's method, basic operations only).

    Overflow gives ``inf`` and underflow ``0.0``, as ``numpy.exp`` does, instead of raising.

    Raises
    ------
    ValueError
        If ``x`` is NaN.
    """
    if x != x:
        raise ValueError("exp(x=nan): x must be a number.")
    if x > _EXP_MAX:
        return math.inf
    if x < _EXP_MIN:
        return 0.0
    kf = math.floor(x * _INV_LN2 + 0.5)
    hi = x - kf * LN2_HI
    lo = kf * LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    return _scale(y, int(kf))


def _scale(y: float, k: int) -> float:
    """Return ``y * 2**k`` in two exact steps (``k`` may reach -1075 near underflow)."""
    if k < -1000:
        return math.ldexp(math.ldexp(y, k + 1000), -1000)
    return math.ldexp(y, k)


def exp_array(x: npt.ArrayLike) -> FloatArray:
    """Return :func:`exp` of every element, bit-identical to the scalar form.

    Raises
    ------
    ValueError
        If any element is NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    if np.any(np.isnan(x)):
        raise ValueError("exp(x=nan): x must be a number.")
    xc = np.clip(x, _EXP_MIN, _EXP_MAX)
    kf = np.floor(xc * _INV_LN2 + 0.5)
    hi = xc - kf * LN2_HI
    lo = kf * LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    k = kf.astype(np.int64)
    deep = k < -1000
    out = np.where(deep, np.ldexp(np.ldexp(y, np.where(deep, k + 1000, 0)), -1000), np.ldexp(y, k))
    out = np.where(x > _EXP_MAX, np.inf, out)
    return np.where(x < _EXP_MIN, 0.0, out)


def sigmoid(x: float) -> float:
    """Return the logistic function ``1 / (1 + e**-x)``."""
    return 1.0 / (1.0 + exp(-x))


# --------------------------------------------------------------------- normal quantile
# Wichura (1988), Algorithm AS 241 PPND16, Applied Statistics 37(3): 477-484.
_A: Final = (
    3.387132872796366608,
    133.14166789178437745,
    1971.5909503065514427,
    13731.693765509461125,
    45921.953931549871457,
    67265.770927008700853,
    33430.575583588128105,
    2509.0809287301226727,
)
_B: Final = (
    1.0,
    42.313330701600911252,
    687.1870074920579083,
    5394.1960214247511077,
    21213.794301586595867,
    39307.89580009271061,
    28729.085735721942674,
    5226.495278852545925,
)
_C: Final = (
    1.42343711074968357734,
    4.6303378461565452959,
    5.7694972214606914055,
    3.64784832476320460504,
    1.27045825245236838258,
    0.24178072517745061177,
    0.0227238449892691845833,
    7.7454501427834140764e-4,
)
_D: Final = (
    1.0,
    2.05319162663775882187,
    1.6763848301838038494,
    0.68976733498510000455,
    0.14810397642748007459,
    0.0151986665636164571966,
    5.475938084995344946e-4,
    1.05075007164441684324e-9,
)
_E: Final = (
    6.6579046435011037772,
    5.4637849111641143699,
    1.7848265399172913358,
    0.29656057182850489123,
    0.026532189526576123093,
    0.0012426609473880784386,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_F: Final = (
    1.0,
    0.59983220655588793769,
    0.13692988092273580531,
    0.0148753612908506148525,
    7.868691311456132591e-4,
    1.8463183175100546818e-5,
    1.4215117583164458887e-7,
    2.04426310338993978564e-15,
)


def _ratio(c: tuple[float, ...], d: tuple[float, ...], r: float) -> float:
    num = (((((c[7] * r + c[6]) * r + c[5]) * r + c[4]) * r + c[3]) * r + c[2]) * r + c[1]
    den = (((((d[7] * r + d[6]) * r + d[5]) * r + d[4]) * r + d[3]) * r + d[2]) * r + d[1]
    return (num * r + c[0]) / (den * r + d[0])


def _ratio_array(c: tuple[float, ...], d: tuple[float, ...], r: FloatArray) -> FloatArray:
    num = (((((c[7] * r + c[6]) * r + c[5]) * r + c[4]) * r + c[3]) * r + c[2]) * r + c[1]
    den = (((((d[7] * r + d[6]) * r + d[5]) * r + d[4]) * r + d[3]) * r + d[2]) * r + d[1]
    out: FloatArray = (num * r + c[0]) / (den * r + d[0])
    return out


def norm_ppf(p: float) -> float:
    """Return the standard normal quantile of ``p`` (AS 241, about 1e-16 relative).

    Raises
    ------
    ValueError
        If ``p`` is not strictly between 0 and 1.
    """
    if not (0.0 < p < 1.0):
        raise ValueError(f"norm_ppf(p={p!r}): p must be in (0, 1).")
    q = p - 0.5
    if abs(q) <= 0.425:
        return q * _ratio(_A, _B, 0.180625 - q * q)
    r = math.sqrt(-log(p if q < 0.0 else 1.0 - p))
    x = _ratio(_C, _D, r - 1.6) if r <= 5.0 else _ratio(_E, _F, r - 5.0)
    return -x if q < 0.0 else x


def norm_ppf_array(p: npt.ArrayLike) -> FloatArray:
    """Return :func:`norm_ppf` of every element, bit-identical to the scalar form.

    Raises
    ------
    ValueError
        If any element is not strictly between 0 and 1.
    """
    p = np.asarray(p, dtype=np.float64)
    if np.any(~((p > 0.0) & (p < 1.0))):
        bad = p[~((p > 0.0) & (p < 1.0))][0]
        raise ValueError(f"norm_ppf(p={bad!r}): p must be in (0, 1).")
    q = p - 0.5
    central = np.abs(q) <= 0.425
    out = q * _ratio_array(_A, _B, 0.180625 - q * q)
    tail = np.where(q < 0.0, p, 1.0 - p)
    r = np.sqrt(-log_array(np.where(central, 0.5, tail)))
    x = np.where(r <= 5.0, _ratio_array(_C, _D, r - 1.6), _ratio_array(_E, _F, r - 5.0))
    x = np.where(q < 0.0, -x, x)
    return np.where(central, out, x)
