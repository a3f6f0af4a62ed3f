"""A GGUF file (llama.cpp's model format) read lazily: the header parsed by hand, the tensors left in
the memory-mapped file until one is asked for, and only then dequantized.

    magic "GGUF" | u32 version (2 or 3) | u64 tensor count | u64 metadata count
    metadata:  key (u64 length + UTF-8) | u32 value type | value   (an array: u32 type, u64 count, items)
    tensors:   name | u32 dims | u64 ne[dims] (ne[0] varies fastest) | u32 ggml type | u64 offset
    padding to `general.alignment` (default 32), then the tensors' data, each at its offset

All little-endian. A tensor's numpy shape is ne reversed: (rows, ne[0]), as torch lays out a Linear's
(out, in). A quantized row is a whole number of blocks (e.g. Q8_0: 32 values in 34 bytes), so row r
of a matrix is bytes r * row_bytes .. (r + 1) * row_bytes of it: `rows` dequantizes only those.

Why not gguf's own GGUFReader: it turns every metadata array into numpy parts on open, 5.3 s for
Qwen2.5's 151,936-token vocabulary and its merges. Here an array is skipped on open (its strings'
lengths walked) and read only when its key is asked for. Dequantizing is gguf's
(`gguf.quants.dequantize`, ggml-org, MIT), imported when a tensor is first read.
"""

from __future__ import annotations

import functools
import struct
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError

MAGIC = b"GGUF"
VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
STRING, ARRAY = 8, 9
# GGUF value types with a fixed size: struct format
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
NUMPY = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "?", 10: "<u8", 11: "<i8", 12: "<f8"}
MAX_DIMS = 4  # ggml's GGML_MAX_DIMS


def _gguf():
    try:
        import gguf
    except ImportError:
        raise InputError("model: reading a GGUF file needs the gguf package; install it with: pip install gguf==0.19.0 "
                         "(make setup does this)") from None
    return gguf


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # numpy order: ne reversed
    qtype: int  # ggml type id (gguf.GGMLQuantizationType)
    start: int  # absolute byte offset in the file
    nbytes: int
    block: int  # values per block (1 for F32, F16)
    block_bytes: int

    @property
    def type_name(self) -> str:
        return type_name(self.qtype)

    @property
    def row_bytes(self) -> int:
        return self.shape[-1] // self.block * self.block_bytes


def type_name(qtype: int) -> str:
    try:
        return _gguf().GGMLQuantizationType(qtype).name
    except ValueError:
        return f"type {qtype}"


@dataclass(frozen=True)
class LazyArray:
    """A metadata array not read yet: its items' type, count and where they start."""

    item_type: int
    count: int
    start: int
    end: int  # the offset after its last item


class Metadata(Mapping):
    """The file's metadata, key -> Python value; an array is read (and kept) when its key is asked for."""

    def __init__(self, file: GGUFFile, entries: dict[str, object]):
        self._file, self._entries, self._read = file, entries, {}

    def __getitem__(self, key: str):
        value = self._entries[key]
        if not isinstance(value, LazyArray):
            return value
        if key not in self._read:
            self._read[key] = self._file.read_array(value, key)
        return self._read[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def is_array(self, key: str) -> bool:
        return isinstance(self._entries.get(key), LazyArray)


class _Truncated(Exception):
    """The header runs past the end of the file."""


class GGUFFile:
    """The header of a GGUF file parsed, its bytes memory-mapped (nothing else read)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = self.path.name
        try:
            self.data = np.memmap(self.path, dtype=np.uint8, mode="r")
        except (OSError, ValueError) as e:  # ValueError: an empty file cannot be mapped
            if self.path.is_file() and self.path.stat().st_size == 0:
                raise InputError(f"model: {self.name} is empty, not a GGUF file") from None
            raise InputError(f"model: cannot read {self.name} ({e})") from None
        self._buffer = memoryview(self.data)
        self._bytes = self.data.view(np.ndarray)  # the same bytes without memmap's per-view bookkeeping
        try:
            self._parse()
        except _Truncated:
            raise InputError(f"model: {self.name} is damaged or truncated: its header ends early "
                             f"(the file has {self.data.size:,} bytes)") from None
        except UnicodeDecodeError:
            raise InputError(f"model: {self.name} is damaged: a name in its header is not UTF-8") from None

    # ---- the header ------------------------------------------------------------------------------

    def _unpack(self, fmt: str, offset: int) -> tuple:
        try:
            return struct.unpack_from(fmt, self._buffer, offset)
        except struct.error:
            raise _Truncated() from None

    def _string(self, offset: int) -> tuple[str, int]:
        (n,) = self._unpack("<Q", offset)
        end = offset + 8 + n
        if end > self.data.size:
            raise _Truncated()
        return bytes(self._buffer[offset + 8:end]).decode("utf-8"), end

    def _value(self, kind: int, offset: int) -> tuple[object, int]:
        if kind in SCALARS:
            return self._unpack(SCALARS[kind], offset)[0], offset + struct.calcsize(SCALARS[kind])
        if kind == STRING:
            return self._string(offset)
        if kind == ARRAY:
            item, count = self._unpack("<IQ", offset)
            start = offset + 12
            end = self._skip(item, count, start)
            return LazyArray(item, count, start, end), end
        raise InputError(f"model: {self.name} is damaged: unknown metadata value type {kind}")

    def _skip(self, item: int, count: int, offset: int) -> int:
        """The offset after an array of `count` items of type `item` starting at `offset`."""
        if item in SCALARS:
            end = offset + count * struct.calcsize(SCALARS[item])
            if end > self.data.size:
                raise _Truncated()
            return end
        if item == STRING:  # walked by the strings' lengths (an offset past the end fails the next unpack)
            if offset + 8 * count > self.data.size:  # a damaged count: not even the lengths fit
                raise _Truncated()
            unpack, buffer = struct.Struct("<Q").unpack_from, self._buffer
            try:
                for _ in range(count):
                    offset += 8 + unpack(buffer, offset)[0]
            except struct.error:
                raise _Truncated() from None
            if offset > self.data.size:
                raise _Truncated()
            return offset
        if item == ARRAY:  # an array of arrays: walked item by item
            for _ in range(count):
                inner, n = self._unpack("<IQ", offset)
                offset = self._skip(inner, n, offset + 12)
            return offset
        raise InputError(f"model: {self.name} is damaged: unknown metadata array type {item}")

    def read_array(self, array: LazyArray, key: str = "") -> list:
        """An array's items as a list of Python values (strings decoded as UTF-8)."""
        if array.item_type in NUMPY:
            return np.frombuffer(self._buffer, dtype=NUMPY[array.item_type], count=array.count,
                                 offset=array.start).tolist()
        if array.item_type == STRING:
            region = bytes(self._buffer[array.start:array.end])  # one copy; slices of bytes are cheaper than of the map
            out, offset, unpack = [], 0, struct.Struct("<Q").unpack_from
            for _ in range(array.count):
                (n,) = unpack(region, offset)
                out.append(region[offset + 8:offset + 8 + n].decode("utf-8", errors="replace"))
                offset += 8 + n
            return out
        if array.item_type == ARRAY:
            out, offset = [], array.start
            for _ in range(array.count):
                inner, n = self._unpack("<IQ", offset)
                end = self._skip(inner, n, offset + 12)
                out.append(self.read_array(LazyArray(inner, n, offset + 12, end), key))
                offset = end
            return out
        raise InputError(f"model: {self.name}: metadata {key} has an unknown array type {array.item_type}")

    def _parse(self) -> None:
        if bytes(self._buffer[:4]) != MAGIC:
            found = bytes(self._buffer[:4])
            raise InputError(f"model: {self.name} is not a GGUF file (bad magic {found!r}, expected b'GGUF')")
        (version,) = self._unpack("<I", 4)
        if version not in VERSIONS:
            big = struct.unpack(">I", struct.pack("<I", version))[0] in VERSIONS
            raise InputError(f"model: {self.name} is GGUF version {version}" + (" (big-endian)" if big else "")
                             + f"; only little-endian versions {' and '.join(map(str, VERSIONS))} are read")
        self.version = version
        n_tensors, n_entries = self._unpack("<QQ", 8)
        if 24 + 13 * n_entries + 32 * n_tensors > self.data.size:  # the smallest entry and tensor info
            raise _Truncated()
        offset, entries = 24, {}
        for _ in range(n_entries):
            key, offset = self._string(offset)
            (kind,) = self._unpack("<I", offset)
            entries[key], offset = self._value(kind, offset + 4)
        self.metadata = Metadata(self, entries)
        infos = []
        for _ in range(n_tensors):
            name, offset = self._string(offset)
            (n_dims,) = self._unpack("<I", offset)
            if not 1 <= n_dims <= MAX_DIMS:
                raise InputError(f"model: {self.name} is damaged: tensor {name} has {n_dims} dimensions")
            ne = self._unpack(f"<{n_dims}Q", offset + 4)
            qtype, relative = self._unpack("<IQ", offset + 4 + 8 * n_dims)
            offset += 4 + 8 * n_dims + 12
            infos.append((name, tuple(reversed(ne)), qtype, relative))
        alignment = entries.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
            raise InputError(f"model: {self.name} is damaged: general.alignment = {alignment!r} is not a power of two")
        self.data_start = -(-offset // alignment) * alignment
        sizes = _gguf().GGML_QUANT_SIZES
        self.tensors: dict[str, TensorInfo] = {}
        for name, shape, qtype, relative in infos:
            if qtype not in sizes:
                raise InputError(f"model: {self.name}: tensor {name} has ggml type {qtype}, which the gguf package "
                                 "does not know (an unsupported quantization type)")
            block, block_bytes = sizes[qtype]
            if shape[-1] % block:
                raise InputError(f"model: {self.name} is damaged: tensor {name}'s rows of {shape[-1]} values are not "
                                 f"whole {type_name(qtype)} blocks of {block}")
            count = int(np.prod(shape, dtype=np.int64))
            info = TensorInfo(name, shape, qtype, self.data_start + relative, count // block * block_bytes, block,
                              block_bytes)
            if info.start + info.nbytes > self.data.size:
                raise InputError(f"model: {self.name} is truncated: tensor {name} needs bytes up to "
                                 f"{info.start + info.nbytes:,}, the file has {self.data.size:,}")
            self.tensors[name] = info

    # ---- tensors ---------------------------------------------------------------------------------

    def raw(self, name: str) -> np.ndarray:
        """A tensor's bytes in the mapped file (no copy), one row of blocks per numpy row."""
        info = self.tensors[name]
        rows = info.nbytes // info.row_bytes
        return self._bytes[info.start:info.start + info.nbytes].reshape(rows, info.row_bytes)

    def check_type(self, name: str) -> None:
        """Refuse a tensor whose type gguf cannot dequantize, naming the type."""
        info = self.tensors[name]
        if not dequantizable(info.qtype):
            raise InputError(f"model: {self.name}: tensor {name} is quantized as {info.type_name}, which cannot be "
                             f"dequantized here (an unsupported quantization type)")

    def dequantize(self, name: str) -> np.ndarray:
        """The whole tensor as float32, in numpy order (ne reversed)."""
        info = self.tensors[name]
        self.check_type(name)
        return _dequantize(self.raw(name), info.qtype).reshape(info.shape)

    def rows(self, name: str, ids) -> np.ndarray:
        """Rows `ids` of a matrix as float32 (len(ids), ne0): only their blocks are dequantized."""
        info = self.tensors[name]
        self.check_type(name)
        ids = np.asarray(ids, dtype=np.int64)
        n_rows = int(np.prod(info.shape[:-1]))
        if ids.size and (ids.min() < 0 or ids.max() >= n_rows):
            bad = int(ids[(ids < 0) | (ids >= n_rows)][0])
            raise InputError(f"model: token id {bad} is beyond the {n_rows} rows of {self.name}'s {name}")
        picked = np.ascontiguousarray(self.raw(name)[ids])  # (len(ids), row_bytes): only these pages are read
        return _dequantize(picked, info.qtype).reshape(len(ids), info.shape[-1])


CHUNK_BYTES = 2 ** 16  # quantized bytes per call of gguf.quants.dequantize: measured fastest (64 KB stays in cache)


def _dequantize(raw: np.ndarray, qtype: int) -> np.ndarray:
    """Quantized rows (n, row_bytes) -> float32 values, flat. Blocks do not depend on their rows, so
    gguf.quants.dequantize is given pieces of CHUNK_BYTES whatever the rows' length (it works in groups
    of 16 rows: a few kilobytes for Qwen2.5's rows of 896 values); about a third less time here."""
    gguf = _gguf()
    kind = gguf.GGMLQuantizationType(qtype)
    block, block_bytes = gguf.GGML_QUANT_SIZES[kind]
    flat = raw.reshape(-1)
    n_blocks = flat.size // block_bytes
    per_call = max(1, CHUNK_BYTES // block_bytes)
    out = np.empty(n_blocks * block, dtype=np.float32)
    for first in range(0, n_blocks, per_call):
        last = min(n_blocks, first + per_call)
        chunk = flat[first * block_bytes:last * block_bytes]
        out[first * block:last * block] = gguf.quants.dequantize(chunk.reshape(1, -1), kind).reshape(-1)
    return out


@functools.lru_cache(maxsize=None)
def dequantizable(qtype: int) -> bool:
    """True when gguf.quants can dequantize ggml type `qtype` (one block of zeros is tried)."""
    gguf = _gguf()
    try:
        kind = gguf.GGMLQuantizationType(qtype)
        gguf.quants.dequantize(np.zeros((1, gguf.GGML_QUANT_SIZES[kind][1]), dtype=np.uint8), kind)
    except (NotImplementedError, ValueError, KeyError):
        return False
    return True


CACHE_BYTES = 256 * 2 ** 20  # dequantized tensors kept between calls (float32): a few layers' worth


class GGUFWeights(Mapping):
    """A model's parameters by their checkpoint names (`names`: checkpoint name -> GGUF tensor name),
    dequantized from the file when asked for, passed through `convert(name, array)` (e.g. llama's Q and
    K rows put back in transformers' order), and kept while they fit in `budget` bytes. Read-only."""

    def __init__(self, file: GGUFFile, names: Mapping[str, str], convert=lambda name, array: array,
                 budget: int = CACHE_BYTES):
        self.file, self.convert = file, convert
        self.names = {name: tensor for name, tensor in names.items() if tensor in file.tensors}
        self.cache = TensorCache(budget)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.names:
            raise KeyError(name)
        return self.cache.get(name, lambda: self._read(name))

    def _read(self, name: str) -> np.ndarray:
        array = np.asarray(self.convert(name, self.file.dequantize(self.names[name])))
        if array.flags.writeable:
            array.setflags(write=False)
        return array

    def rows(self, name: str, ids) -> np.ndarray:
        """Rows `ids` of an embedding matrix (float32), only their blocks dequantized (not converted:
        for tensors `convert` leaves as they are)."""
        return self.file.rows(self.names[name], ids)

    def __contains__(self, name) -> bool:  # Mapping's own would dequantize the tensor to find out
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


class TensorCache:
    """Dequantized tensors kept, the least recently used dropped once they pass `budget` bytes."""

    def __init__(self, budget: int):
        self.budget, self.items, self.size = budget, OrderedDict(), 0

    def get(self, key, make):
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = make()
        if value.nbytes <= self.budget:
            self.items[key] = value
            self.size += value.nbytes
            while self.size > self.budget:
                _, dropped = self.items.popitem(last=False)
                self.size -= dropped.nbytes
        return value
