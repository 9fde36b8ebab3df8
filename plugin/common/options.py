"""Every setting of a run and of learning a texture, as data: the name, words, range and default of each, in the
order a host registers them (GIMP's procedure arguments, which scripts pass by name or position), and the ``Order``
they make. A host with other widgets reads the ranges and defaults from here too, so both editors offer the same."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .flow import Order
from .heal import Heal
from .recipe import CLEANUP_TIP, KEEP_COLOURS, KEEP_COLOURS_TIP, SIZE_TIP, TASKS, VARIATION_TIP, Recipe, Slot

SLOTS = 3  # texture slots as arguments (style-N, strength-N, mask-N; size-N, variation-N at the end)
SIZE = (50.0, 200.0, 100.0)  # a texture's size in per cent: least, most, default
SELECTION = "selection"  # a mask argument naming the current selection; "" is the whole layer, anything else a channel
SR_OUTPUTS = {"new-image": "Open the result as a new image", "scale-image": "Scale this image and add a layer"}
STYLE_SCALES = {"fine": "Fine (texture)", "coarse": "Coarse (painting style)"}
MINUTES = (0.05, 60.0, 8.0)  # learning time: least, most, default
# The photo clean-up at auto: it judges each image (backend/noise_level.py), so a clean photo comes back unchanged
# (python tools/clean_detail.py --tasks photo,denoise: 12 clean BSD100 photos, detail kept 100 %; denoise 87 %) while
# a noisy or JPEG one is cleaned.
DEFAULT_TASK = "photo"
ANY = sys.float_info.max  # a range that lets every number through, so the plug-in says what is allowed


@dataclass(frozen=True)
class Option:
    """One setting: ``kind`` is choice (``values``), bool, float (``low`` to ``high``) or string. An underscore in
    ``label`` marks a mnemonic, as GTK and Qt read it."""

    name: str
    label: str
    blurb: str
    kind: str
    default: Any
    low: float = 0.0
    high: float = 0.0
    values: dict[str, str] | None = None


def _slot(i: int) -> list[Option]:
    return [
        Option(f"style-{i}", f"Texture {i}", "A style's name; empty: no texture", "string", ""),
        Option(f"strength-{i}", f"Strength {i}", "0 to 2", "float", 1.0, 0.0, 2.0),
        Option(f"mask-{i}", f"Where {i}", "'selection', a channel's name, or empty for the whole layer", "string", ""),
    ]


def _shape(i: int) -> list[Option]:
    """A slot's size and variation: after every older argument, so scripts that pass those by position still work;
    any number reaches the plug-in, which says what is allowed (as for the clean-up)."""
    return [
        Option(f"size-{i}", f"Size {i}", f"{SIZE_TIP}: 50 to 200 (%)", "float", SIZE[2], -ANY, ANY),
        Option(f"variation-{i}", f"Variation {i}", f"{VARIATION_TIP}: 0, 1, 2…", "float", 0.0, -ANY, ANY),
    ]


RESTORE = [
    Option("task", "Res_toration", "What to restore first", "choice", DEFAULT_TASK, values=TASKS),
    Option("cleanup-auto", "_Auto clean-up", "Photo tasks: let the network judge how much to clean up", "bool", True),
    # any number reaches the plug-in, which says what is allowed (GIMP would drop an out-of-range one silently)
    Option(
        "cleanup",
        "_Clean-up",
        f"{CLEANUP_TIP}; photo tasks, used when cleanup-auto is off: 0 to 1",
        "float",
        0.5,
        -ANY,
        ANY,
    ),
    *(option for i in range(1, SLOTS + 1) for option in _slot(i)),
    Option("preserve-colours", f"_{KEEP_COLOURS}", KEEP_COLOURS_TIP, "bool", False),
    Option("inpaint-mask", "_Fill", "Inpainting: 'selection' or a channel's name (white = fill)", "string", SELECTION),
    Option(
        "sr-output", "Super-resolution r_esult", "Where a larger result goes", "choice", "new-image", values=SR_OUTPUTS
    ),
    *(option for i in range(1, SLOTS + 1) for option in _shape(i)),
]
LEARN = [
    Option("name", "_Name", "The new texture's name", "string", "my-texture"),
    Option("scale", "_Kind", "Fine texture or coarse painting style", "choice", "fine", values=STYLE_SCALES),
    Option("minutes", "_Minutes", "Training time (about 8 is good)", "float", MINUTES[2], MINUTES[0], MINUTES[1]),
]

HEAL = [
    Option("style", "_Texture", "A style's name; empty: the texture around the selection", "string", ""),
    Option("variation", "_Variation", f"{VARIATION_TIP}: 0, 1, 2…", "float", 0.0, -ANY, ANY),
]


def order_from(get: Callable[[str], Any]) -> Order:
    """The ``Order`` that the settings ``get(name)`` returns make: the texture slots whose style is set, each with
    its mask argument, the fill for inpainting, and where a larger result goes."""
    wanted = [i for i in range(1, SLOTS + 1) if get(f"style-{i}")]
    recipe = Recipe(
        get("task"),
        [
            Slot(get(f"style-{i}"), get(f"strength-{i}"), None, get(f"size-{i}") / 100, whole(get(f"variation-{i}")))
            for i in wanted
        ],
        get("preserve-colours"),
        None if get("cleanup-auto") else get("cleanup"),
    )
    masks = [get(f"mask-{i}") for i in wanted]
    return Order(recipe, masks, get("inpaint-mask"), scale_image=get("sr-output") == "scale-image")


def whole(value: Any) -> Any:
    """A number argument that is a whole number as an int (a seed); anything else as it is, for the check to name."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def heal_order(hole: Any, style: str = "", seed: Any = 0) -> Order:
    """Heal with texture: the inpainting of ``hole`` (the host's selection) into a new layer, textured like its
    surroundings, or as ``style``, in variation ``seed``."""
    return Order(Recipe("inpaint", heal=Heal(style or None, whole(seed))), hole=hole)
