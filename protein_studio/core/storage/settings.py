"""User settings: a small JSON file (weights folder, default scoring model, device preference).

The file lives in ``$PROTEIN_STUDIO_CONFIG_DIR`` or else ``~/.config/protein-studio`` (``$XDG_CONFIG_HOME``
is honoured) and is written atomically: a temporary file in the same folder is renamed over the old
one, so a crash never leaves half a settings file. Keys this version does not know are kept as they
were, so that other parts of the application (or a newer version) can store their own.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from protein_studio.core.errors import UserError
from protein_studio.core.files import write_text_atomically

__all__ = ["Settings", "config_dir", "settings_path", "load_settings", "load_settings_or_set_aside", "save_settings",
           "DEVICE_CHOICES", "CONFIG_DIR_ENV"]

CONFIG_DIR_ENV = "PROTEIN_STUDIO_CONFIG_DIR"
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
_FILE_NAME = "settings.json"
#: Largest settings file read (it holds a handful of keys).
MAX_SETTINGS_BYTES = 1024 * 1024


@dataclass
class Settings:
    """What the user chose.

    Attributes
    ----------
    weights_dir : str or None
        Folder holding model weights; ``None`` means the default (the torch hub cache fair-esm uses).
    scoring_model : str
        Registry name of the default scoring model.
    device : {"auto", "cpu", "cuda", "mps"}
        Preferred device ("auto": CUDA, then Apple MPS, then CPU).
    extra : dict
        Keys of the settings file this version does not interpret; written back unchanged.
    """

    weights_dir: str | None = None
    scoring_model: str = "esm2_t33_650M_UR50D"
    device: str = "auto"
    extra: dict = field(default_factory=dict)


def config_dir() -> Path:
    """Folder of the settings file (not created here)."""
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "protein-studio"


def settings_path() -> Path:
    """Full path of the settings file."""
    return config_dir() / _FILE_NAME


def load_settings() -> Settings:
    """Read the settings file; defaults when it does not exist.

    Raises
    ------
    UserError
        The file exists but is not a JSON object, or a value has the wrong type.
    """
    from protein_studio.core.files import describe_path, read_input_text

    path = settings_path()
    problem = describe_path(path)
    if problem == "does not exist":
        return Settings()
    try:
        if problem is None and path.stat().st_size > MAX_SETTINGS_BYTES:
            raise UserError(f"it is larger than {MAX_SETTINGS_BYTES // 1024} kB")
        data = json.loads(read_input_text(path, "a settings file (JSON)"))  # never blocks on a FIFO
    except UserError as exc:
        raise UserError(f"{path}: cannot read the settings file ({exc.reason if hasattr(exc, 'reason') else exc}); "
                        f"fix or delete it") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise UserError(f"{path}: cannot read the settings file ({reason}); fix or delete it") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the settings file ({exc.strerror or exc}); fix or delete it") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: the settings file must hold a JSON object")
    known = {f.name for f in fields(Settings)} - {"extra"}
    settings = Settings(extra={k: v for k, v in data.items() if k not in known})
    weights = data.get("weights_dir")
    if weights is not None and not isinstance(weights, str):
        raise UserError(f"{path}: weights_dir must be a folder path or null")
    settings.weights_dir = weights or None
    model = data.get("scoring_model", settings.scoring_model)
    if not isinstance(model, str) or not model:
        raise UserError(f"{path}: scoring_model must be a model name")
    settings.scoring_model = model
    device = data.get("device", settings.device)
    if device not in DEVICE_CHOICES and not (isinstance(device, str) and device.startswith("cuda:")):
        raise UserError(f"{path}: device must be one of {', '.join(DEVICE_CHOICES)}, not {device!r}")
    settings.device = device
    return settings


def load_settings_or_set_aside() -> tuple[Settings, str | None]:
    """:func:`load_settings`, but a settings file that cannot be used is renamed aside
    (``settings.json.unreadable-<time>``) and the defaults are used: the application always starts.

    Returns
    -------
    (Settings, str or None)
        The settings, and the message saying what was set aside (None when nothing was).
    """
    import time

    try:
        return load_settings(), None
    except UserError as exc:
        path = settings_path()
        aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, aside)
            where = f"it was moved to {aside}"
        except OSError as move_error:
            where = f"it could not be moved aside ({move_error.strerror or move_error})"
        return Settings(), f"{exc} - the default settings are used; {where}"


def save_settings(settings: Settings) -> Path:
    """Write ``settings`` atomically and return the file's path."""
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dict(settings.extra)
    data.update({k: v for k, v in asdict(settings).items() if k != "extra"})
    return write_text_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
