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
