"""tac's help conventions, over two of typer's defaults (applied once, by `tac.cli_options`).

* A flag takes no value, so its help row shows no type: typer ≥ 0.2x prints `--json <bool>`,
  which reads as if the flag wanted an argument.
* Usage lines name arguments the POSIX way — `tac steer [OPTIONS] RUN_DIR COMMAND [JOB_ID]` —
  where typer prints `{run_dir} {command} [job_id]`.

Both hook typer's help rendering only (parsing is untouched); tests/test_cli_conventions.py
checks the result, so a typer that renames these hooks fails there, not in front of a user.
"""

from __future__ import annotations

from typer import core


def _flag_has_no_type(original):
    def display_type_rich(self, ctx):
        return None if getattr(self, "is_flag", False) else original(self, ctx)

    return display_type_rich


def _usage_name(self) -> str:
    name = (self.metavar or self.name or "").upper()
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 and not name.endswith("...") else "")


def apply() -> None:
    if hasattr(core.TyperOption, "display_type_rich") and not getattr(core.TyperOption, "_tac_style", False):  # fmt: skip
        core.TyperOption.display_type_rich = _flag_has_no_type(core.TyperOption.display_type_rich)
        core.TyperOption._tac_style = True
    if hasattr(core.TyperArgument, "_usage_display_name"):
        core.TyperArgument._usage_display_name = _usage_name
