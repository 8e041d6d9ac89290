"""The names of the flows this package builds, and what each prior is made of.

No torch import, so configs and the command line can read them cheaply.
"""

from __future__ import annotations

# prior name -> (flow in time, default flow in hidden)
PRIORS: dict[str, tuple[str, str]] = {
    "af-af": ("af", "af"),
    "af-scf": ("af", "scf"),
    "iaf-scf": ("iaf", "scf"),
    "af-only": ("none", "af"),
}
TIME_FLOWS = ("af", "iaf", "none")
HIDDEN_FLOWS = ("af", "scf", "none")
TRANSFORMS = ("nlsq", "affine")
