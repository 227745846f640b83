"""Contest submissions: deterministic archive.zip, a self-contained inflate, and building one."""

from tac.submission.archive import write_deterministic_zip
from tac.submission.build import build_video_submission

__all__ = ["build_video_submission", "write_deterministic_zip"]
