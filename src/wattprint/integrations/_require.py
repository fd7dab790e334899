"""Import an optional library on first use, or fail with the pip command that installs it.

Every integration imports its framework through :func:`require`, never at module level of
the package, so ``import wattprint`` stays free of torch, Lightning, Transformers, MLflow
and W&B.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import WattprintError

__all__ = ["MissingExtraError", "require", "EXTRAS"]

#: extra → what it installs (the names pip knows), for messages and docs.
EXTRAS = {
    "torch": "torch",
    "lightning": "lightning",
    "hf": "transformers",
    "mlflow": "mlflow-skinny sqlalchemy alembic",
    "pandas": "pandas",
    "polars": "polars",
    "wandb": "wandb",
    "server": "fastapi sqlalchemy alembic 'psycopg[binary]' uvicorn",
    "prometheus": "prometheus-client",
    "otel": "opentelemetry-sdk",
}


class MissingExtraError(WattprintError, ImportError):
    """An integration needs a library that is not installed.

    ``package`` is the missing import name, ``extra`` the wattprint extra that installs it
    and ``pip`` the command to run. Also an :class:`ImportError`, so ``except ImportError``
    around an optional integration keeps working.
    """

    def __init__(self, message: str, *, package: str, extra: str, pip: str) -> None:
        super().__init__(message, name=package)
        self.package = package
        self.extra = extra
        self.pip = pip


def require(module: str, extra: str, *, feature: str) -> ModuleType:
    """``importlib.import_module(module)``, or :class:`MissingExtraError` naming
    ``pip install 'wattprint[extra]'``. ``feature`` says what needed it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        if err.name is not None and err.name != top and not module.startswith(err.name):
            raise  # the library is there but one of *its* imports failed: show that
        pip = f"pip install 'wattprint[{extra}]'"
        raise MissingExtraError(
            f"{feature} needs {module}, which is not installed: {pip} "
            f"(or pip install {EXTRAS.get(extra, top)})",
            package=top, extra=extra, pip=pip) from err
