"""Where a result goes in a layer stack, and which layer the user chose: decisions both editors make the same way,
on layer names and ids the host gives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .recipe import RESULT_PREFIX, UserError


def landing(above: Sequence[str]) -> int:
    """How many of the layers above the source (their names, nearest first, siblings only) a new result goes over:
    0 (right above the source), or up to the topmost earlier Retex layer, so that a new result never lands under an
    earlier (often opaque) one and stays unseen."""
    over = [i + 1 for i, name in enumerate(above) if name.startswith(RESULT_PREFIX)]
    return over[-1] if over else 0


@dataclass(frozen=True)
class Layer:
    """The active layer as the host sees it: its id, name, and whether it is Retex's preview layer."""

    id: str
    name: str
    preview: bool = False


class LayerMemory:
    """The layer the user chose, per image: after a Preview or an Apply an editor may make Retex's own layer (the
    preview, or the result Retex selected) the active one, and neither is ever taken for the user's choice."""

    def __init__(self) -> None:
        self._chosen: dict[str, tuple[str, str]] = {}  # image -> (layer id, name)
        self._made: dict[str, str] = {}  # image -> the result layer Retex made active itself

    def source(self, image: str, active: Layer | None, exists: Callable[[str], bool]) -> str | None:
        """The id of the layer to work on: the active one when the user picked it, else the one they picked
        before; None when there is neither. A remembered layer that was deleted is said once, then forgotten."""
        chosen = self._chosen.get(image)
        remembered = chosen[0] if chosen and exists(chosen[0]) else None
        if chosen and remembered is None:  # deleted: whatever the editor made active instead was not chosen
            del self._chosen[image]
            raise UserError(
                f"The layer '{chosen[1]}' that Retex worked on was deleted. Select the layer to work on in the "
                "Layers docker, then try again."
            )
        if active is None or active.preview or active.id == self._made.get(image):
            if remembered is None and active is not None:
                raise UserError(f"'{active.name}' only shows a preview. Select the layer to work on.")
            return remembered
        self._chosen[image] = (active.id, active.name)
        return active.id

    def made(self, image: str, layer: str) -> None:
        """Retex made ``layer`` the active one (a new result): it is not the user's choice."""
        self._made[image] = layer
