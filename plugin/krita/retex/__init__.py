"""Retex for Krita 5: restore, then texture, from a docker. ``common`` (the protocol, client and backend session
shared with the GIMP plug-in) is copied beside this package at install time: see installer.py and install/plugins.py."""

from krita import DockWidgetFactory, DockWidgetFactoryBase, Krita

from .docker import DOCKER_ID, RetexDocker
from .extension import RetexExtension

_app = Krita.instance()
_app.addExtension(RetexExtension(_app))
_app.addDockWidgetFactory(DockWidgetFactory(DOCKER_ID, DockWidgetFactoryBase.DockRight, RetexDocker))
