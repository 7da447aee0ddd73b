"""Which statements of a MariaDB/MySQL dump are let through: the pure rules of ``mysql_guard``.

``refusal_of`` reads the tokens of one statement (as ``mysql_guard.TOKEN`` cuts them) and
returns the kind of statement that is refused, or None when mariadb-dump writes such a thing.
"""

from __future__ import annotations

from collections.abc import Sequence

Token = tuple[str, bytes]  # (kind, text): kind is a group name of mysql_guard.TOKEN

IGNORED = frozenset({"space", "comment", "sandbox", "open", "close"})
OBJECTS = frozenset({"TABLE", "VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "SEQUENCE"})
# Words that may stand between CREATE and the kind of object in a dump.
CREATE_MODIFIERS = frozenset(
    {"OR", "REPLACE", "ALGORITHM", "UNDEFINED", "MERGE", "TEMPTABLE", "DEFINER", "SQL"}
    | {"SECURITY", "INVOKER", "CURRENT_USER", "AGGREGATE"}
)
REFUSED_PAIRS = {
    (first, second): f"{first} {second}"
    for first, seconds in {
        "CREATE": ("DATABASE", "SCHEMA", "USER", "ROLE", "SERVER"),
        "DROP": ("DATABASE", "SCHEMA", "USER", "ROLE", "SERVER"),
        "ALTER": ("DATABASE", "SCHEMA", "USER", "SERVER"),
        "RENAME": ("USER",),
        "INTO": ("OUTFILE", "DUMPFILE"),
        "LOAD": ("DATA", "XML", "INDEX"),
        "SET": ("GLOBAL", "PASSWORD", "PERSIST", "PERSIST_ONLY", "ROLE", "DEFAULT"),
        "INSTALL": ("PLUGIN", "SONAME"),
        "UNINSTALL": ("PLUGIN", "SONAME"),
        "DATA": ("DIRECTORY",),
        "INDEX": ("DIRECTORY",),
    }.items()
    for second in seconds
}
REFUSED_WORDS = frozenset({"LOAD_FILE", "GRANT", "REVOKE", "SHUTDOWN", "USE", "KILL", "SONAME"})
# SQL modes that change how quotes and backslashes are read, and character sets whose
# multi-byte characters may swallow a backslash: both would let text hide from the guard.
QUOTING_MODES = (b"NO_BACKSLASH_ESCAPES", b"ANSI_QUOTES", b"ANSI")
UNSAFE_CHARSETS = frozenset({"BIG5", "CP932", "GBK", "GB18030", "SJIS", "GB2312"})


def refusal_of(tokens: Sequence[Token]) -> str | None:
    """Return the refused kind of the statement made of ``tokens``, or None when it may run."""
    hidden = _hidden_comment_end(tokens)
    if hidden is not None:
        return hidden
    code = [(kind, text) for kind, text in tokens if kind not in IGNORED]
    words = [text.decode("ascii").upper() for kind, text in code if kind == "word"]
    if all(kind == "other" and text == b";" for kind, text in code):
        return None
    for kind, text in code:
        if kind == "other" and text == b"\\":
            return "a client command (backslash)"
    found = _refused_words(words)
    if found is not None:
        return found
    return _refused_kind(code, words)


def _hidden_comment_end(tokens: Sequence[Token]) -> str | None:
    """Refuse a quoted ``*/`` inside a versioned comment: a server too old for the comment's
    version skips to that ``*/``, and would then run what the guard read as quoted text."""
    inside = False
    for kind, text in tokens:
        if kind == "open":
            inside = True
        elif kind == "close":
            inside = False
        elif inside and kind in ("string", "name") and b"*/" in text:
            return "a quoted '*/' inside a versioned comment"
    return None


def _refused_words(words: list[str]) -> str | None:
    for index, word in enumerate(words):
        if word in REFUSED_WORDS and (word != "USE" or index == 0):
            return word
        if word.startswith("@@GLOBAL"):
            return "SET GLOBAL"
        pair = REFUSED_PAIRS.get((word, words[index + 1] if index + 1 < len(words) else ""))
        if pair is not None:
            return pair
    return None


def _refused_kind(code: list[Token], words: list[str]) -> str | None:
    """Return the kind of a statement mariadb-dump does not write, or None."""
    head = words[:2] if code[0][0] == "word" else ["(no keyword)"]
    if head[0] == "SET":
        return _refused_set(code)
    if head[0] == "DROP" and len(head) == 2 and head[1] in OBJECTS:
        return _qualified(code, f"DROP {head[1]}")
    if head[0] == "CREATE":
        return _refused_create(code, words)
    if head in (["LOCK", "TABLES"], ["UNLOCK", "TABLES"]):
        return _qualified(code, " ".join(head))
    if head == ["ALTER", "TABLE"] and words[-1:] == ["KEYS"] and len(words) == 4:
        return _qualified(code, "ALTER TABLE")
    if head == ["DO", "SETVAL"] and len(words) == 2:  # the position of a sequence
        return _qualified(code, "DO SETVAL")
    return " ".join(head) if head[0] != "(no keyword)" else "a statement without a keyword"


def _qualified(code: list[Token], kind: str) -> str | None:
    """Refuse a statement with any ``a.b`` name: it reaches into another database."""
    if any(kind_ == "other" and text == b"." for kind_, text in code):
        return f"{kind} of another database"
    return None


def _refused_set(code: list[Token]) -> str | None:
    for kind, text in code:
        if kind in ("string", "word") and any(mode in text.upper() for mode in QUOTING_MODES):
            return "SET SQL_MODE that changes quoting"
        if kind == "word" and text.decode("ascii").upper() in UNSAFE_CHARSETS:
            return f"SET of the character set {text.decode('ascii')}"
    return None


def _refused_create(code: list[Token], words: list[str]) -> str | None:
    """Allow CREATE of a table, view, trigger, routine or event named without a database."""
    objects = [word for word in words[1:] if word in OBJECTS]
    if not objects:
        return f"CREATE {words[1] if len(words) > 1 else ''}".strip()
    position = next(
        index for index, (kind, text) in enumerate(code) if _is_word(kind, text, objects[0])
    )
    between = [text.decode("ascii").upper() for kind, text in code[1:position] if kind == "word"]
    if any(word not in CREATE_MODIFIERS for word in between):
        return f"CREATE {' '.join(between)} {objects[0]}"
    kind = f"CREATE {objects[0]}"
    if objects[0] in ("TABLE", "SEQUENCE"):
        return _qualified(code, kind)
    names = _name_after(code, position)
    if objects[0] == "TRIGGER":
        on = next((index for index, (k, t) in enumerate(code) if _is_word(k, t, "ON")), None)
        names += _name_after(code, on) if on is not None else [b"."]
    return f"{kind} in another database" if b"." in names else None


def _name_after(code: list[Token], position: int) -> list[bytes]:
    """Return the name after ``code[position]`` (past IF NOT EXISTS) and the token after it."""
    index = position + 1
    while (
        index < len(code)
        and code[index][0] == "word"
        and code[index][1].upper()
        in (
            b"IF",
            b"NOT",
            b"EXISTS",
        )
    ):
        index += 1
    return [text for _kind, text in code[index : index + 2]]


def _is_word(kind: str, text: bytes, word: str) -> bool:
    return kind == "word" and text.decode("ascii").upper() == word
