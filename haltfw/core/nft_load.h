// Loading nft-language rulesets through libnftables, nft's own parser, so
// that rules are written as users write them for nft -f. One call is one
// netlink transaction: the ruleset goes in whole or not at all.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.h"

namespace haltfw {

/// The text handed to libnftables for a config: "flush ruleset", the gateway
/// profile's text if the config has [gateway] (gateway.h), the bridge-filter
/// profile's if it has [bridge-filter] (bridge_filter.h), then an include of
/// each rules file, so that the whole ruleset replaces the old one in a single
/// transaction, the files can extend the profile, and nft's errors name each
/// file's own lines.
std::string RulesetProgram(const Config& cfg);

/// SHA-256 over what the ruleset is built from: the profiles' texts (with
/// [gateway], [bridge-filter]), and the paths and contents of the rules files and of
/// every file they include, nested, with what each include statement
/// found (nft_includes.h). Reads the files; errors read "read
/// /etc/haltfw/rules.nft: REASON" (an unreadable included file is hashed as
/// such: the load names it).
bool RulesetInputHash(const Config& cfg, std::string* hash, std::string* err);

/// Sends `program` to the kernel without committing it (libnftables' check
/// mode): syntax and kernel-side validation, no change. On failure, *err holds
/// nft's own messages (file:line:column: Error: ...).
bool NftCheck(const std::string& program, std::string* err);

/// nft's error messages without the "In file included from <cmdline>:L:C:"
/// lines: the program haltfw hands libnftables includes each rules file,
/// and that line would point at a text the user never wrote. The message's
/// own "FILE:LINE:COL: Error: ..." and an include between the user's own
/// files stay. Pure.
std::string WithoutProgramIncludeLines(const std::string& messages);

/// Commits `program` in one transaction.
///
/// Both this and NftCheck hand libnftables each rules file of a program line
/// `include "FILE"` that has a UTF-8 byte order mark or CRLF line ends (a
/// file saved on Windows, which nft 1.0.6 refuses) without them, from a
/// memfd, with every line where it was; nft's messages name FILE as usual.
bool NftCommit(const std::string& program, std::string* err);

/// `messages` with each (copy, file) pair's copy path, where it stands whole
/// (".../fd/1" is not the start of ".../fd/12"), written as the file. Pure.
std::string NamingFiles(std::string_view messages, const std::vector<std::pair<std::string, std::string>>& names);

}  // namespace haltfw
