"""Reproductions of published experiments built on the library's model families
(a layer above ``discrete``, ``flows`` and ``model``; nothing below imports from here).

- ``tasks.py``: the synthetic distributions of Tran et al. (2019) as exact probability
  tables (full-rank Dirichlet, discretised Gaussian ring, Potts) or generators (addition).
- ``synthetic.py``: the models the paper compares on them, their training, and the table
  beside the paper's numbers (``lnf synthetic``).
"""
