"""Lanes that exist only for tests: plug-ins written against `tac.lanes.base` alone."""
