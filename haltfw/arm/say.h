// How the arm layer's protocols with the outside world (the ruleset
// watcher's handshake, the exitrd's record of its files) tell the user what
// they found. They print nothing themselves: the CLI decides where a line
// goes and at what priority, and a unit test collects the lines to compare.
#pragma once

#include <functional>
#include <string>

namespace haltfw {

/// How loud a line is: kDetail only with --verbose, kProgress as a normal
/// message, kWarning and kError on stderr (cli/log.h).
enum class Tone { kDetail, kProgress, kWarning, kError };

using Say = std::function<void(Tone, const std::string&)>;

}  // namespace haltfw
