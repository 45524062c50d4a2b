"""A model's weights without torch: NAME.npz beside NAME.pt.

`partimento train` writes NAME.pt, a plain state dict of tensors (what torch reads back
to go on training), and beside it NAME.npz, the same arrays bit for bit in numpy's own
format, read with `allow_pickle=False`, so that composing never imports torch. The
.npz records the SHA-256 of the .pt it was exported from: a .pt replaced after the
export is read through torch again rather than through stale weights.

    python -m composer.neural.weights models/chorale.pt   # writes models/chorale.npz

The export is reproducible: the same .pt gives the same .npz, byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from composer.io.files import atomic_path

SUFFIX = ".npz"
SOURCE = "source_sha256"  # the entry that names the .pt
_EPOCH = (1980, 1, 1, 0, 0, 0)  # every entry's date: the same bytes from the same weights


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_pt(path: Path) -> dict[str, np.ndarray]:
    """A .pt state dict as numpy arrays (imports torch). Raises whatever torch raises for
    a damaged or foreign file, ValueError for one that holds other than tensors."""
    import torch  # lazy: torch only to read a .pt; composing reads .npz in numpy

    state = torch.load(path, weights_only=True, map_location="cpu")
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor)
                                              for t in state.values()):
        raise ValueError("not a state dict of tensors")
    return {str(k): t.detach().cpu().numpy() for k, t in state.items()}


def write_npz(state: Mapping[str, np.ndarray], path: Path, source: str) -> None:
    """The arrays as an uncompressed .npz, as `np.savez` writes it but with fixed dates,
    plus SOURCE (the .pt's digest); all or nothing."""
    arrays = {**state, SOURCE: np.array(source)}
    with atomic_path(Path(path)) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            zf.writestr(info, buffer.getvalue())


def read_npz(path: Path) -> tuple[dict[str, np.ndarray], str]:
    """The arrays of a .npz and the digest of the .pt it came from ('' if none). Raises
    OSError or ValueError (zipfile.BadZipFile is one) for a damaged file."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    source = arrays.pop(SOURCE, np.array(""))
    return arrays, str(source)


def read_weights(path: Path) -> dict[str, np.ndarray]:
    """The weights of PATH (.npz, or .pt): a .pt is read from the .npz beside it when
    that was exported from this very file, and through torch otherwise."""
    path = Path(path)
    if path.suffix == SUFFIX:
        return read_npz(path)[0]
    exported = path.with_suffix(SUFFIX)
    if exported.is_file():
        try:
            arrays, source = read_npz(exported)
        except (OSError, ValueError):
            pass  # a damaged export: the .pt itself still says what the weights are
        else:
            if source == digest(path):
                return arrays
    return read_pt(path)


def export(pt: Path) -> Path:
    """Write NAME.npz beside NAME.pt; the path written."""
    pt = Path(pt)
    out = pt.with_suffix(SUFFIX)
    write_npz(read_pt(pt), out, digest(pt))
    return out


def main(argv: list[str]) -> int:
    if not argv or any(not a.endswith(".pt") for a in argv):
        print("usage: python -m composer.neural.weights NAME.pt ...  (writes NAME.npz beside"
              " each)", file=sys.stderr)
        return 2
    for pt in argv:
        print(f"wrote {export(Path(pt))}")
    return 0


__all__ = ["SUFFIX", "digest", "export", "read_npz", "read_pt", "read_weights", "write_npz"]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

