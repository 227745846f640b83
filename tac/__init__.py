"""tac — Task-Aware Compression: compress video for the networks that watch it.

The public API is small on purpose; everything else is discoverable from the folder names
(`tac.contest` for scoring truth, `tac.video` for frames, `tac.submission` for contest packaging).
"""

__version__ = "0.1.0"
