"""The numbers the report places ours next to, copied with their sources from ``../shared/notes/peers-and-anchors.md``
(section 3) and the seed's slides (``../shared/seed/method.md``, Figure 5): published figures, not measured here."""

from __future__ import annotations

from dataclasses import dataclass

NOTES = "shared/notes/peers-and-anchors.md"
SEED = "shared/seed/method.md (the slides' Figure 5)"

# ×4 bicubic on the standard protocol (Y channel, border = scale, MATLAB imresize LR), DRRN/VDSR tables.
BICUBIC_X4_Y = {"Set5": 28.42, "Set14": 26.00, "BSD100": 25.96}


@dataclass(frozen=True)
class Anchor:
    name: str
    params: int | None  # None: not a network (or not counted)
    params_note: str
    scores: dict[str, float]  # set -> PSNR (absolute for the field, gain over the baseline for the seed's table)
    protocol: str
    source: str


SEED_PROTOCOL = "not stated by the slides (gain over the degraded input's baseline)"
SEED_X4_GAINS = [
    Anchor(
        "the seed's network",
        200_000,
        "200K",
        {"DIV2K": 1.02, "Set5": 2.22, "Set14": 1.36, "BSD100": 0.76},
        SEED_PROTOCOL,
        SEED,
    ),
    Anchor(
        "SRCNN (slides)",
        440_000,
        "440K as the slides count",
        {"DIV2K": 0.72, "Set5": 1.95, "Set14": 0.81, "BSD100": 0.54},
        SEED_PROTOCOL,
        SEED,
    ),
    Anchor(
        "EDSR (slides)",
        1_517_000,
        "1517K as the slides count",
        {"DIV2K": 1.54, "Set5": 4.71, "Set14": 1.86, "BSD100": 1.24},
        SEED_PROTOCOL,
        SEED,
    ),
    Anchor(
        "SRGAN (slides)",
        1_554_000,
        "1554K",
        {"DIV2K": -0.50, "Set5": 2.00, "Set14": -0.19, "BSD100": -0.48},
        SEED_PROTOCOL,
        SEED,
    ),
    Anchor(
        "RDN (slides)",
        2_205_000,
        "2205K as the slides count",
        {"DIV2K": 1.59, "Set5": 4.76, "Set14": 1.83, "BSD100": 1.29},
        SEED_PROTOCOL,
        SEED,
    ),
]

FIELD_PROTOCOL = "Y (BT.601), border = scale, MATLAB bicubic LR"


def _field(name: str, params: int, note: str, s5: float | None, s14: float, b100: float | None, src: str) -> Anchor:
    scores = {k: v for k, v in (("Set5", s5), ("Set14", s14), ("BSD100", b100)) if v is not None}
    return Anchor(name, params, note, scores, FIELD_PROTOCOL, f"{NOTES} §3.1: {src}")


FIELD_X4_PSNR = [
    _field("SRCNN", 57_000, "57K (9-5-5)", 30.48, 27.50, 26.90, "Holistic-Super-Resolution-Review README"),
    _field("FSRCNN", 12_000, "12K", 30.71, 27.59, 26.98, "SMFANet figs/CNN_results.png"),
    _field("ESPCN", 25_000, "25K", 30.52, 27.42, 26.87, "Holistic review README"),
    _field("VDSR", 665_000, "665K", 31.35, 28.01, 27.29, "Holistic review README"),
    _field("CARN-M", 412_000, "412K", 31.92, 28.42, 27.44, "CARN ECCV'18 table, unverified (from memory)"),
    _field("CARN", 1_592_000, "1592K", 32.13, 28.60, 27.58, "SMFANet table; review"),
    _field("IMDN", 715_000, "715K", 32.21, 28.58, 27.56, "SMFANet table; review"),
    _field("RFDN", 550_000, "550K", 32.24, 28.61, 27.57, "RFDN Tab. 3 via a public notes file"),
    _field("RLFN", 543_000, "543K", 32.24, 28.62, 27.60, "RLFN Tab. 1 via a public notes file"),
    _field("ShuffleMixer", 411_000, "411K", 32.21, 28.66, 27.61, "SMFANet table"),
    _field("SAFMN", 240_000, "240K", 32.18, 28.60, 27.58, "SMFANet table"),
    _field("SMFANet (DIV2K)", 197_000, "197K", 32.25, 28.67, 27.61, "Zheng-MJ/SMFANet figs/CNN_results.png"),
    _field("SPAN", 426_000, "~426K (computed)", None, 28.66, None, "hongyuanyu/SPAN assets/results.png"),
]

DENOISE_PROTOCOL = "RGB PSNR, Gaussian noise σ=25, CBSD68"
DENOISE_CBSD68_S25 = [
    Anchor("CBM3D", None, "–", {"CBSD68": 30.71}, DENOISE_PROTOCOL, f"{NOTES} §3.2: cszn/DPIR figs/color_psnr.png"),
    Anchor(
        "DnCNN (CDnCNN)",
        670_000,
        "~0.67M (computed)",
        {"CBSD68": 31.24},
        DENOISE_PROTOCOL,
        f"{NOTES} §3.2: cszn/DPIR figs/color_psnr.png",
    ),
    Anchor(
        "FFDNet (colour)",
        850_000,
        "~0.85M (computed)",
        {"CBSD68": 31.21},
        DENOISE_PROTOCOL,
        f"{NOTES} §3.2: cszn/DPIR figs/color_psnr.png",
    ),
    Anchor(
        "DRUNet",
        32_640_960,
        "32.6M (computed)",
        {"CBSD68": 31.69},
        DENOISE_PROTOCOL,
        f"{NOTES} §3.2: cszn/DPIR figs/color_psnr.png",
    ),
]
