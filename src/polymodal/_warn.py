"""The one place that reports what ``drop_params=True`` dropped: a warning that names it."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable

logger = logging.getLogger("polymodal")


class DroppedParamWarning(UserWarning):
    """A parameter was dropped because the target does not take it and ``drop_params=True``."""


def warn_dropped(names: Iterable[str], model: str, reason: str) -> None:
    listed = ", ".join(sorted(names))
    text = f"drop_params=True: dropped {listed} for model {model!r} ({reason})"
    logger.warning(text)
    warnings.warn(text, DroppedParamWarning, stacklevel=4)


def refuse_or_drop(
    names: list[str],
    *,
    model: str,
    drop_params: bool,
    reason: str,
    hint: str,
    provider: str | None = None,
) -> None:
    """Raise ``UnsupportedParamsError`` for ``names``, or warn and let the caller drop them."""
    if not names:
        return
    if not drop_params:
        from polymodal.errors import UnsupportedParamsError

        raise UnsupportedParamsError(
            f"{', '.join(names)} not accepted for model {model!r}: {reason}; {hint}",
            model=model,
            provider=provider,
            param=names[0],
        )
    warn_dropped(names, model, reason)
