"""Run Hugging Face transformers' T5EncoderModel on Debian's torch 1.13, as the reference our T5 is proven against.

Shims only; no upstream code lives here. The upstream source is fetched at development time into the git-ignored
`models/importer/.upstream/transformers-4.19/` (the `transformers` package directory, unmodified):

  - huggingface/transformers itself is over the 500 MB snapshot limit of this environment's `fetch` tool, so the
    package comes from YuanWind/transformers_wind (commit 022d07a), which vendors transformers 4.19.0.dev0 unmodified
    (its git history adds `transformers/` in its first commits and never touches `transformers/models/t5/` again).
    Extract it with:
        git -C /work/.mirror/YuanWind+transformers_wind/repo archive HEAD transformers | tar x -C models/importer/.upstream
        mv models/importer/.upstream/transformers models/importer/.upstream/transformers-4.19
    The encoder path of 4.19's modeling_t5.py (T5LayerNorm, T5DenseActDense / T5DenseGatedActDense, T5Attention's
    relative buckets and bias, T5Block, T5Stack) was compared by reading against huggingface/transformers at
    6b8b757 (4.5x): the arithmetic is the same; newer versions only add cache classes and attention-mask plumbing.

What is shimmed (the packages below are not installed here; nothing on T5's forward path uses them):
  - `filelock.FileLock`, `huggingface_hub.{HfFolder, Repository, create_repo, list_repo_files, whoami, model_info}`:
    imported by transformers.utils.hub and dynamic_module_utils for downloads; stubs that raise if called.
  - `tqdm.auto`: imported by transformers.utils.logging for progress bars; a stub module.
  - `transformers` and `transformers.models` are registered as bare packages (a module with `__path__` only) so that
    their `__init__.py` (the lazy-import table and `dependency_versions_check`, which demands tokenizers,
    huggingface-hub, tqdm, … at pinned versions) does not run; `transformers.models.t5.modeling_t5` and the modules
    it imports (activations, modeling_utils, configuration_utils, utils) are then imported as they are.
  - `transformers.dependency_versions_check` (imported by transformers.deepspeed, which modeling_utils imports):
    replaced by a module whose `dep_version_check` does nothing, for the same reason.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path

UPSTREAM = Path(__file__).resolve().parent / ".upstream" / "transformers-4.19"


def _stub_module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules.setdefault(name, module)
    return sys.modules[name]


def _unavailable(name: str):
    def call(*_args, **_kwargs):
        raise RuntimeError(f"{name} is shimmed out (upstream_shims_t5.py): no downloads here")

    return call


def _install_third_party_stubs() -> None:
    class FileLock:  # only entered around downloads
        def __init__(self, *_args, **_kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *_exc):
            return False

    _stub_module("filelock", FileLock=FileLock)
    _stub_module(
        "huggingface_hub",
        HfFolder=type("HfFolder", (), {"get_token": staticmethod(lambda: None)}),
        Repository=_unavailable("huggingface_hub.Repository"),
        create_repo=_unavailable("huggingface_hub.create_repo"),
        list_repo_files=_unavailable("huggingface_hub.list_repo_files"),
        whoami=_unavailable("huggingface_hub.whoami"),
        model_info=_unavailable("huggingface_hub.model_info"),
    )
    tqdm = _stub_module("tqdm")
    tqdm.auto = _stub_module("tqdm.auto", tqdm=_unavailable("tqdm"))


def _bare_package(name: str, path: Path) -> None:
    if name not in sys.modules:
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        module.__version__ = "4.19.0.dev0"
        sys.modules[name] = module


def upstream_t5():
    """The upstream `transformers.models.t5.modeling_t5` module (T5Config, T5EncoderModel, …)."""
    if not (UPSTREAM / "models" / "t5" / "modeling_t5.py").is_file():
        raise SystemExit(f"{UPSTREAM}: missing; fetch transformers as this file's docstring says")
    _install_third_party_stubs()
    _bare_package("transformers", UPSTREAM)
    _bare_package("transformers.models", UPSTREAM / "models")
    _bare_package("transformers.models.t5", UPSTREAM / "models" / "t5")
    # deepspeed.py imports it; it checks pinned versions of packages T5's forward never uses.
    _stub_module("transformers.dependency_versions_check", dep_version_check=lambda *_args, **_kwargs: None)
    import importlib

    return importlib.import_module("transformers.models.t5.modeling_t5")
