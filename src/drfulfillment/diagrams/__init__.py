"""Diagrams drawn from the engine's own declarations (``drfulfillment diagrams``).

* :mod:`.lifecycles`: each declared lifecycle as Mermaid or DOT text;
* :mod:`.render`: every diagram as files, SVG through Graphviz's ``dot``.
"""

from drfulfillment.diagrams.lifecycles import dot, mermaid
from drfulfillment.diagrams.render import FORMATS, GraphvizMissingError, render

__all__ = ["FORMATS", "GraphvizMissingError", "dot", "mermaid", "render"]
