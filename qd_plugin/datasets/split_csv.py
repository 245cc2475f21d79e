"""Reading the rows of a Drive&Act split CSV, with errors naming the line."""
import codecs
import csv
import io
import re
from typing import Dict, Iterator, Sequence, Tuple

# Path components that leave the video root.
_PARENT = re.compile(r'(^|[\\/])\.\.([\\/]|$)')
_ABSOLUTE = re.compile(r'^([\\/]|[A-Za-z]:)')


def read_split_rows(path: str, columns: Sequence[str]
                    ) -> Iterator[Tuple[int, Dict[str, str]]]:
    """The rows of a split CSV as ``(line number, row)``.

    The file must be UTF-8 (a byte order mark, as spreadsheet exports write,
    is accepted), its header must hold ``columns`` and every row as many
    fields as the header (empty trailing fields aside).

    Args:
        path (str): The CSV file.
        columns (Sequence[str]): The columns the header must hold.

    Yields:
        tuple[int, dict]: The row's line number (1-based, the header is
        line 1) and its fields by column.

    Raises:
        ValueError: Bytes that are not UTF-8, a missing column, or a row
            with too few or too many fields; names the file and the line.
    """
    with open(path, 'rb') as f:
        data = f.read()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as error:
        line = data.count(b'\n', 0, error.start) + 1
        column = error.start - (data.rfind(b'\n', 0, error.start) + 1) + 1
        raise ValueError(
            f'{path}, line {line}: byte 0x{data[error.start]:02x} at column '
            f'{column} is not UTF-8 (a latin-1 or Windows export?); save the '
            'file as UTF-8') from None
    reader = csv.DictReader(io.StringIO(text, newline=''))
    header = reader.fieldnames or []
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f'{path}: missing column(s) {missing}; the header '
                         f'must hold {list(columns)}')
    for row in reader:
        extra = [value for value in row.pop(None, []) if value.strip()]
        fields = sum(value is not None for value in row.values())
        if fields < len(header) or extra:
            raise ValueError(
                f'{path}, line {reader.line_num}: {fields + len(extra)} '
                f'field(s), the header has {len(header)} '
                f'({", ".join(header)})')
        yield reader.line_num, row


def check_file_id(file_id: str, where: str) -> None:
    """Refuse a ``file_id`` that would name a video outside the video root.

    Args:
        file_id (str): The ``file_id`` of a row.
        where (str): The file and line of the row, for the message.

    Raises:
        ValueError: ``file_id`` is empty, absolute or has a ``..``
            component.
    """
    if not file_id.strip() or _ABSOLUTE.match(file_id) or _PARENT.search(
            file_id):
        raise ValueError(
            f'{where}: file_id {file_id!r} must be a relative path inside '
            'the video root (data_prefix video): no absolute path, no ".."')
