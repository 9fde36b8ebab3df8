"""Every Qt name the plug-in uses, imported once: a Krita 6 (Qt 6) port changes this file and little else."""

from PyQt5.QtCore import QObject, QSize, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QIcon, QImage, QPixmap
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "QCheckBox",
    "QComboBox",
    "QDockWidget",
    "QDoubleSpinBox",
    "QFormLayout",
    "QFrame",
    "QHBoxLayout",
    "QIcon",
    "QImage",
    "QLabel",
    "QLineEdit",
    "QObject",
    "QPixmap",
    "QProgressBar",
    "QPushButton",
    "QScrollArea",
    "QSize",
    "QSlider",
    "QTimer",
    "QToolButton",
    "QVBoxLayout",
    "QWidget",
    "Qt",
    "pyqtSignal",
]
