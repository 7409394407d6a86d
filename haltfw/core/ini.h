// The INI dialect of haltfw.conf, read line by line so that every entry
// keeps its line number.
//
// The syntax is the one Boost.Program_options' config-file parser accepts
// ("[section]", "key = value", '#' comments, repeated keys), but that parser
// drops line numbers, and every haltfw.conf error must name its line. So the
// file is tokenised here; Boost.Program_options reads the command line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/diag.h"

namespace haltfw {

struct IniEntry {
    std::string section;  ///< "" before the first [section].
    std::string key;
    std::string value;    ///< Trimmed; a trailing " # comment" is removed.
    int line = 0;
};

struct IniSection {
    std::string name;
    int line = 0;
};

struct IniFile {
    std::vector<IniSection> sections;  ///< In file order, as written.
    std::vector<IniEntry> entries;     ///< In file order.
};

/// Splits `text` into sections and entries. Syntax errors (a line that is
/// neither a section, an entry, a comment nor blank; an empty key; an unclosed
/// '[') are recorded in `diags` under `file` and the line is skipped.
IniFile ParseIni(std::string_view text, const std::string& file, Diagnostics* diags);

}  // namespace haltfw
