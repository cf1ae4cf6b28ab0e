"""The book's notation, defined once: superscripts, subscripts and the names of blocks.

Block names run unchanged through the NumPy trace, the workbook's Map sheet, ``--json`` dumps and
verify's report: ``W2`` (wˡⱼᵢ of layer 2), ``z2``, ``a2``, ``delta3`` (δ³), ``dC_dW2`` (∂C/∂w²
per image), ``dCT_dW2`` (∂C_T/∂w², summed over the images), ``v_W2`` (an optimizer's state for
W2). A layer's blocks are named from its tag: a number for the layers of a fully connected net
(``z2``), the book's letters for a convolutional one (``F``, ``zF``, ``zP``, ``WO``, ``deltaO``),
numbered when a stack has several of a kind (``F1``, ``zF2``).
"""

from __future__ import annotations

from dataclasses import dataclass

_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sup(n: int) -> str:
    """Superscript digits, as in the book's zˡ: 2 -> ²."""
    return str(n).translate(_SUP)


def sub(n: int) -> str:
    """Subscript digits, as in the book's wⱼᵢ: 12 -> ₁₂."""
    return str(n).translate(_SUB)


def indexed(symbol: str, k: str, ij: str = "", word: str = "map") -> str:
    """The book's zᶠᵏᵢⱼ (filter k as a superscript after the layer's letter); after a
    numbered layer (zᶠ¹) the filter in words, "zᶠ¹ (map k, at i, j)": one superscript run."""
    if symbol[-1:] in "⁰¹²³⁴⁵⁶⁷⁸⁹":
        return f"{symbol} ({word} k{', at i, j' if ij else ''})"
    return f"{symbol}{k}{ij}"


def element(tile: str, *indices: int) -> str:
    """An element of a tile: the book's wᶠ¹₁₁ (the tile's symbol, its indices subscript), or,
    for a tile named in words ("wᶠ², filter 9, channel 8", "zᶠ¹, map 1"), its indices in
    brackets: never a second superscript or subscript run on one symbol."""
    if " " in tile:
        return f"{tile} ({', '.join(str(i) for i in indices)})"
    return tile + "".join(sub(i) for i in indices)


def grad(param: str) -> str:
    """∂C/∂p for each image: ``dC_dW2``."""
    return f"dC_d{param}"


def total_grad(param: str) -> str:
    """∂C_T/∂p, summed over the images: ``dCT_dW2``."""
    return f"dCT_d{param}"


def state(kind: str, param: str) -> str:
    """An update rule's state for a parameter (momentum's v: ``v_W2``)."""
    return f"{kind}_{param}"


def weights(l: int | str) -> str:
    """Wˡ: ``W2``, ``WO``."""
    return f"W{l}"


def bias(l: int | str) -> str:
    """bˡ: ``b2``, ``bF``."""
    return f"b{l}"


def z(l: int | str) -> str:
    """zˡ, layer l's weighted inputs: ``z2``, ``zF``."""
    return f"z{l}"


def a(l: int | str) -> str:
    """aˡ, layer l's outputs: ``a2``, ``aF``."""
    return f"a{l}"


def delta(l: int | str) -> str:
    """δˡ = ∂C/∂zˡ, layer l's neural unit errors: ``delta2``, ``deltaP``."""
    return f"delta{l}"


_LETTER = {"F": "ᶠ", "P": "ᴾ", "O": "ᴼ", "H": "ᴴ", "y": "ʸ"}


def tag_sup(tag: str) -> str:
    """A layer tag as the book's superscript: ``2`` -> ², ``F`` -> ᶠ, ``F2`` -> ᶠ² (a text's
    only recurrent layer has none: "")."""
    if not tag:
        return ""
    if tag.isdigit():
        return sup(int(tag))
    letter, number = tag[0], tag[1:]
    return _LETTER.get(letter, letter) + (sup(int(number)) if number else "")


def suffix(tag: str) -> str:
    """The number of a numbered tag: ``F2`` -> ``2``, ``F`` -> ``""``."""
    return tag[1:] if not tag.isdigit() else tag


def numbered(tag: str) -> bool:
    """A lettered tag with a number (``F2``: the second of several convolution layers)."""
    return not tag.isdigit() and suffix(tag) != ""


def layer_number(tag: str) -> bool:
    """A fully connected net's tag: the book's layer number l (``2``, ``3``)."""
    return tag.isdigit()


def indices(*ix: int) -> str:
    """Subscripts like the book's: w²₁₂, and w²₁,₁₂ once an index has two digits."""
    return ("," if any(i >= 10 for i in ix) else "").join(sub(i) for i in ix)


@dataclass(frozen=True)
class Words:
    """How the sheets and ``--json`` name a data set's parts: one example (``item``: an image,
    a window of a text), several, what it is made of (``element``: a pixel, a character), and
    what x and t are."""

    item: str = "image"
    items: str = "images"
    element: str = "pixel"
    x: str = "x: the inputs (an image's pixels)"
    t: str = "t: the target, 1 for the image's class and 0 for the others"


def grid(symbol: str, rows: int, cols: int) -> tuple[str, ...]:
    """A matrix's element labels, row by row, as the matrix is indexed: E[1,1], E[1,2] …"""
    return tuple(f"{symbol}[{r + 1},{c + 1}]" for r in range(rows) for c in range(cols))
