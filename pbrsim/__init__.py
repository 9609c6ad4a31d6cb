"""The ``pbrsim`` command line, the top layer of the project.

The packages form layers, each importing only those below it::

    pbrsim       the command line (pbrsim.cli)
    reports      the HTML report of a batch
    calibration  fitting scenarios to published figures
    sim          the simulation, batches and estimates

``sim``, ``calibration`` and ``reports`` never import ``pbrsim``
(``tests/test_layers.py`` checks every import).
"""
