"""Reading a saved model's tensors with numpy alone: `model.safetensors` through the safetensors library,
`pytorch_model.bin` (torch's zip format) through a restricted unpickler that runs no code from the file.

A torch checkpoint is a zip: `<name>/data.pkl`, a pickle of the state dict, and `<name>/data/<key>`,
the raw bytes of each storage. The pickle names a few globals (torch's tensor rebuilder, OrderedDict,
the storage types) and refers to each storage by a persistent id
`("storage", <storage type>, <key>, <location>, <numel>)`. Here every global is looked up in a fixed
table of our own stand-ins: the file's names are never imported and nothing it names is called; any
other global is refused with an InputError, so a checkpoint that names `os.system` is an error, not
an attack. The same approach as torch's own `weights_only=True` loader, without torch.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from .errors import InputError

# torch's storage type names -> the numpy dtype of their bytes (little-endian, as torch writes them).
STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",  # no numpy dtype: widened to float32 below
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _Storage:
    """A storage type named by the pickle (torch.FloatStorage ...): only its dtype is used."""

    def __init__(self, name: str):
        self.name = name


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    """Our stand-in for torch._utils._rebuild_tensor_v2: a view of the storage's 1-D array with the
    tensor's offset, shape and strides (in elements), copied into a contiguous array."""
    size, stride = tuple(size), tuple(stride)
    if not isinstance(storage, np.ndarray):
        raise InputError("pytorch_model.bin: a tensor without its storage")
    needed = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if all(size) else storage_offset
    if storage_offset < 0 or needed > storage.size or any(s < 0 for s in stride):
        raise InputError("pytorch_model.bin: a tensor reaches past the end of its storage (the file is damaged)")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[storage_offset:], shape=size,
                                           strides=tuple(s * item for s in stride), writeable=False)
    return np.array(view)


# The only globals a state dict may name, each mapped to a maker of our own stand-in: a fresh object
# per load, so that nothing a pickle does to it (its BUILD opcode sets attributes) outlives the load.
ALLOWED_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"): lambda: lambda *args: _rebuild_tensor_v2(*args),
    ("collections", "OrderedDict"): lambda: lambda *args: collections.OrderedDict(*args),
    **{("torch", name): (lambda name=name: _Storage(name)) for name in STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, source: str):
        super().__init__(file)
        self.archive, self.prefix, self.source = archive, prefix, source
        self.storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[module, name]()
        except KeyError:
            raise InputError(f"{self.source}: refused to load: the pickle names {module}.{name}, which is not a "
                             "tensor, a storage type or an OrderedDict (nothing was run)") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _Storage)
                and pid[1].name in STORAGE_DTYPES and isinstance(pid[4], int)):
            raise InputError(f"{self.source}: refused to load: an unknown persistent id {str(pid)[:60]!r}")
        _, storage, key, _location, numel = pid
        key = str(key)
        if key not in self.storages:
            try:
                raw = self.archive.read(f"{self.prefix}data/{key}")
            except KeyError:
                raise InputError(f"{self.source}: storage {key} is missing from the zip (the file is damaged)") from None
            dtype = STORAGE_DTYPES[storage.name]  # by name: the pickle may have set attributes on its stand-in
            if dtype == "bfloat16":  # the high half of a float32
                array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
            if array.size < numel:
                raise InputError(f"{self.source}: storage {key} holds {array.size} values, not {numel} (the file is damaged)")
            self.storages[key] = array
        return self.storages[key]


def read_torch_bin(path: str | Path) -> dict[str, np.ndarray]:
    """The tensors of a `pytorch_model.bin` (torch >= 1.6's zip format) as numpy arrays, by name.
    Runs nothing from the file: see the module docstring."""
    path = Path(path)
    source = path.name
    if not zipfile.is_zipfile(path):
        raise InputError(f"{source}: not a zip checkpoint (torch's format since 1.6); "
                         "save it again with torch >= 1.6 or as model.safetensors")
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise InputError(f"{source}: expected one <name>/data.pkl in the zip, found {len(pickles)}")
        prefix = pickles[0][: -len("data.pkl")]
        unpickler = _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), archive, prefix, source)
        try:
            state = unpickler.load()
        except InputError:
            raise
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, IndexError, AttributeError) as e:
            raise InputError(f"{source}: not a readable state dict ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in state.items()):
        raise InputError(f"{source}: expected a state dict of named tensors")
    return dict(state)


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """The tensors of a `model.safetensors`, through safetensors' numpy API."""
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises its own SafetensorError for a damaged header
        raise InputError(f"{Path(path).name}: not a readable safetensors file ({e})") from None


WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def read_weights(folder: Path) -> dict[str, np.ndarray]:
    """A Hugging Face folder's weights: model.safetensors when there, else pytorch_model.bin."""
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return read_safetensors(folder / name) if name.endswith(".safetensors") else read_torch_bin(folder / name)
    raise InputError(f"model: {folder} has no weights: expected {' or '.join(WEIGHT_FILES)}")
