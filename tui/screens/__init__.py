"""Modal screens: help, changing caps, confirming stop and cancel."""
