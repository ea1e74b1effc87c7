"""The window (the only package that imports PySide6): main window, panels, the worker thread, 3D viewer.

Start it with :func:`protein_studio.gui.application.run_application`.
"""

__all__: list[str] = []
