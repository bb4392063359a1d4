#!/usr/bin/python3
"""Doxygen INPUT_FILTER for include/attend/*.h (docs/Doxyfile): the headers are documented with
plain // comments (the house style), which Doxygen ignores; this turns them into doc comments on
the fly, without changing the headers.

  - the comment block at the top of a header  -> the file's description (@file), verbatim
  - a // comment line before a declaration    -> /// (documents what follows)
  - `decl;  // text` and `value,  // text`    -> ///< (documents that member or enumerator)
  - /* ... */ comments (attend_c.h, version.h) and // lines of only punctuation are left alone.
Characters Doxygen would read as commands or HTML (\\ @ < > &) are escaped outside `code`.
"""
import re
import sys

LINE = re.compile(r"^(\s*)//(?!/)\s?(.*)$")
TRAILING = re.compile(r"^(.*?[;,])(\s*)//(?!/)\s?(.*)$")


def escape(text):
    parts = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"([\\@<>&])", r"\\\1", parts[i])
    return "".join(parts)


def main(path):
    out, in_block, seen_code, file_doc_done = [], False, False, False
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for line in lines:
        s = line.strip()
        if in_block:
            out.append(line)
            in_block = "*/" not in s
            continue
        if s.startswith("/*"):
            out.append(line)
            in_block = "*/" not in s
            file_doc_done = True
            continue
        m = LINE.match(line)
        if m:
            indent, text = m.groups()
            if text and not re.search(r"[A-Za-z0-9]", text):
                out.append(line)              # a separator line
            elif not seen_code and not file_doc_done:
                if not out or not out[-1].startswith("///"):
                    out.append("/// @file")
                    out.append("/// @verbatim")
                out.append(f"/// {line.strip()[2:].lstrip(' ') if not text else text}")
            else:
                out.append(f"{indent}/// {escape(text)}")
            continue
        if out and out[-1].startswith("///") and not seen_code and not file_doc_done:
            out.append("/// @endverbatim")    # the header's own layout (shape tables) kept as written
            file_doc_done = True
        if s and not s.startswith("#"):
            seen_code = True
        if not s.startswith("#"):
            t = TRAILING.match(line)
            if t and '"' not in t.group(1):
                line = f"{t.group(1)}{t.group(2)}///< {escape(t.group(3))}"
        out.append(line)
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
