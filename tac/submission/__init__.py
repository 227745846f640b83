"""Contest submissions: deterministic archive.zip, a self-contained inflate, and building one.

Exports resolve lazily: `tac job status` and friends import the CLI on every remote poll, and
building pulls in torch and av, which take seconds to import.
"""

__all__ = ["build_video_submission", "write_deterministic_zip"]


def __getattr__(name: str):
    if name == "build_video_submission":
        from tac.submission.build import build_video_submission

        return build_video_submission
    if name == "write_deterministic_zip":
        from tac.submission.archive import write_deterministic_zip

        return write_deterministic_zip
    raise AttributeError(f"module 'tac.submission' has no attribute {name!r}")
