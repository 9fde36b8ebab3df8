"""Where a texture goes: the whole image, the current selection, a selection mask (local selection), or a paint
layer's luminance or alpha (artists paint where a texture goes). Read as mask frames of the canvas's size."""

from __future__ import annotations

from dataclasses import dataclass

from krita import Document

from .common.protocol import SAMPLE_BYTES, Frame, FrameSpec
from .common.recipe import UserError, channel, check_mask
from .document import SAMPLES, find_node, node_id, walk


@dataclass(frozen=True)
class MaskSource:
    kind: str  # whole, selection, selection_mask, luminance, alpha
    node: str = ""  # the node's unique id for the last three
    label: str = ""


WHOLE = MaskSource("whole", label="Whole image")
SELECTION = MaskSource("selection", label="Current selection")


def sources(doc: Document | None) -> list[MaskSource]:
    """What the mask pickers offer for ``doc``, top of the layer stack first."""
    found = [WHOLE, SELECTION]
    for node in walk(doc.rootNode()) if doc is not None else []:
        uid, name = node_id(node), node.name()
        if node.type() == "selectionmask":
            found.append(MaskSource("selection_mask", uid, f"Selection mask: {name}"))
        elif node.type() == "paintlayer":
            found.append(MaskSource("luminance", uid, f"Luminance of {name}"))
            found.append(MaskSource("alpha", uid, f"Alpha of {name}"))
    return found


def read(doc: Document, source: MaskSource) -> Frame | None:
    """The mask as a frame (None: the whole image); a mask that selects nothing, or a selection of everything, is
    refused with a message, since it is almost surely not what was meant."""
    w, h = doc.width(), doc.height()
    if source.kind == "whole":
        return None
    if source.kind in ("selection", "hole"):  # a hole: the selection a heal fills
        sel = doc.selection()
        data = bytes(sel.pixelData(0, 0, w, h)) if sel is not None and sel.width() > 0 else b""
        check_mask(data, source.kind)
        return FrameSpec(w, h, "Y", "u8", "selection"), data
    node = find_node(doc, source.node)
    if node is None:
        raise UserError(
            f"The mask '{source.label}' is not in this image (deleted, or picked in another image): pick another one."
        )
    if source.kind == "selection_mask":
        data = bytes(node.pixelData(0, 0, w, h))
        check_mask(data, "selection_mask", node.name())
        return FrameSpec(w, h, "Y", "u8", "selection mask"), data
    if node.colorModel() != "RGBA" or node.colorDepth() not in SAMPLES:
        raise UserError(f"The mask layer '{node.name()}' is {node.colorModel()} {node.colorDepth()}: use an RGB layer.")
    sample = SAMPLES[node.colorDepth()]
    data = bytes(node.pixelData(0, 0, w, h))
    if source.kind == "alpha":
        data = channel(data, 4, SAMPLE_BYTES[sample], 3)
    check_mask(data, "layer", node.name())
    channels = "A" if source.kind == "alpha" else "BGRA"  # the backend takes a colour frame's luminance × alpha
    return FrameSpec(w, h, channels, sample, node.name()[:64]), data
