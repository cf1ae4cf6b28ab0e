"""The book's notation, defined once: superscripts, subscripts and the names of blocks.

Block names run unchanged through the NumPy trace, the workbook's Map sheet, ``--json`` dumps and
verify's report: ``W2`` (wˡⱼᵢ of layer 2), ``z2``, ``a2``, ``delta3`` (δ³), ``dC_dW2`` (∂C/∂w²
per image), ``dCT_dW2`` (∂C_T/∂w², summed over the images), ``v_W2`` (an optimizer's state for
W2).
"""

from __future__ import annotations

_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sup(n: int) -> str:
    """Superscript digits, as in the book's zˡ: 2 -> ²."""
    return str(n).translate(_SUP)


def sub(n: int) -> str:
    """Subscript digits, as in the book's wⱼᵢ: 12 -> ₁₂."""
    return str(n).translate(_SUB)


def grad(param: str) -> str:
    """∂C/∂p for each image: ``dC_dW2``."""
    return f"dC_d{param}"


def total_grad(param: str) -> str:
    """∂C_T/∂p, summed over the images: ``dCT_dW2``."""
    return f"dCT_d{param}"


def state(kind: str, param: str) -> str:
    """An update rule's state for a parameter (momentum's v: ``v_W2``)."""
    return f"{kind}_{param}"


def weights(l: int) -> str:
    """Wˡ: ``W2``."""
    return f"W{l}"


def bias(l: int) -> str:
    """bˡ: ``b2``."""
    return f"b{l}"


def z(l: int) -> str:
    """zˡ, layer l's weighted inputs: ``z2``."""
    return f"z{l}"


def a(l: int) -> str:
    """aˡ, layer l's outputs: ``a2``."""
    return f"a{l}"


def delta(l: int) -> str:
    """δˡ, layer l's neural unit errors: ``delta2``."""
    return f"delta{l}"
