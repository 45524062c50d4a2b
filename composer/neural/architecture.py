"""The network's shape as data, shared by the torch model that trains it (`model`) and
the numpy one that composes with it (`net`): the sizes, the order in which voices are
chosen, what each voice sees of its own beat, and the name and shape of every weight.
No torch here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from composer.neural.features import PLACE_VALUES, ROLE_VALUES, VOCAB, WIDTH

FORMAT = 1
VOICES = 4
OUT = WIDTH + 1  # classes per voice: the window's notes and a rest
ORDER = (0, 3, 1, 2)  # voices are chosen soprano, bass, alto, tenor
# What each voice sees of its own beat.
PREFIX = {"none": {}, "outer": {3: (0,), 1: (0, 3), 2: (0, 3)},
          "full": {3: (0,), 1: (0, 3), 2: (0, 3, 1)}}
PLAN_FEATURES = 12 * ROLE_VALUES + 12 + 1 + sum(PLACE_VALUES.values())
KEY_FEATURES = 12 * ROLE_VALUES + 12 + 1  # a chord by pitch class, the tonic, the mode


@dataclass(frozen=True)
class ModelConfig:
    hidden: int = 128
    embed: int = 16
    within: str = "full"  # 'none', 'outer' or 'full' (see PREFIX)
    within_hidden: int = 64
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.within not in PREFIX:
            raise ValueError(f"within must be one of {', '.join(PREFIX)}, not {self.within!r}")
        if min(self.hidden, self.embed, self.within_hidden) < 1 or not 0 <= self.dropout < 1:
            raise ValueError("sizes must be at least 1, dropout in [0, 1)")

    def to_json(self) -> dict:
        return asdict(self)


def _mlp(name: str, n_in: int, hidden: int, n_out: int) -> dict[str, tuple[int, ...]]:
    """Linear, ReLU, Dropout, Linear: torch numbers the two linear layers 0 and 3."""
    return {f"{name}.0.weight": (hidden, n_in), f"{name}.0.bias": (hidden,),
            f"{name}.3.weight": (n_out, hidden), f"{name}.3.bias": (n_out,)}


def weight_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every entry of the model's state dict and its shape, `format_version` first."""
    c = config
    shapes: dict[str, tuple[int, ...]] = {
        "format_version": (),
        "prev_embed.weight": (VOICES * VOCAB, c.embed),
        **_mlp("prev_net", c.embed + KEY_FEATURES + VOICES, c.hidden, OUT),
        **_mlp("plan_net", PLAN_FEATURES, c.hidden, VOICES * OUT),
        "within_embed.weight": (VOICES * VOCAB, c.embed),
    }
    for v in PREFIX[c.within]:
        shapes.update(_mlp(f"within_nets.{v}", VOICES * c.embed + KEY_FEATURES,
                           c.within_hidden, OUT))
    return shapes


__all__ = ["FORMAT", "KEY_FEATURES", "ORDER", "OUT", "PLAN_FEATURES", "PREFIX", "VOICES",
           "ModelConfig", "weight_shapes"]
