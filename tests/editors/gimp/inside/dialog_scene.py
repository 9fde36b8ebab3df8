"""Run inside GIMP by tests/editors/gimp/screenshot.py: an image with a selection and a saved channel, and the Restore &
Texture dialog opened on it (INTERACTIVE) with two textures set and Preview on, for the screenshot. The spy
(inside/spy/sitecustomize.py) notes when the preview is shown; the dialog stays up until the screenshot tool ends the
plug-in."""

# ruff: noqa: F821  (GIMP's python-fu-eval supplies Gimp and Gio)

import os

image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.environ["RETEX_GIMP_PHOTO"]))
layer = image.get_layers()[0]
image.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 200, 480, 120)
Gimp.Selection.save(image).set_name("Lawn")
image.select_ellipse(Gimp.ChannelOps.REPLACE, 120, 40, 200, 140)
procedure = Gimp.get_pdb().lookup_procedure("plug-in-retex-restore")
config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
config.set_property("image", image)
config.set_core_object_array("drawables", [layer])
settings = {"task": "photo", "cleanup-auto": False, "cleanup": 0.6}
settings.update({"style-1": "straw", "strength-1": 0.8, "mask-1": "selection"})
settings.update({"style-2": "grass", "strength-2": 1.2, "mask-2": "Lawn"})
for key, value in settings.items():
    config.set_property(key, value)
procedure.run(config)
