"""shopfloor core: the contracts every other package imports."""
