"""Contest submissions: deterministic archive.zip, a lane's self-contained inflate, and checks.

Lane-agnostic: the lanes (`tac.lanes`) compress and name their inflate files; this package
packages, checks and never imports a lane. Exports resolve lazily: `tac job status` and friends
import the CLI on every remote poll, and building pulls in torch and av.
"""

__all__ = ["build_submission", "write_deterministic_zip"]


def __getattr__(name: str):
    if name == "build_submission":
        from tac.submission.build import build_submission

        return build_submission
    if name == "write_deterministic_zip":
        from tac.submission.archive import write_deterministic_zip

        return write_deterministic_zip
    raise AttributeError(f"module 'tac.submission' has no attribute {name!r}")
