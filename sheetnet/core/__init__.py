"""The NumPy core: runs, traces of named blocks, the nets and the exercises (no openpyxl, typer
or rich)."""
