// What the haltfw CLI says, and where it goes. Two kinds of output:
//  - messages: progress, diagnostics, warnings, errors; filtered by
//    --quiet/--verbose;
//  - results: what the verb was asked for (check's verdict, status, a
//    digest); never filtered, always on stdout.
// On a terminal (or a pipe, a file) they are plain lines: results and
// ordinary messages on stdout, errors and warnings on stderr as
// "haltfw: ..." / "haltfw: warning: ...". When systemd connected the stream
// to the journal ($JOURNAL_STREAM names its device and inode,
// systemd.exec(5)), every line carries sd-daemon(3)'s "<N>" prefix, so
// journald records it with its priority; journald also forwards the stream
// (without the prefix) to the console where a unit asks for
// StandardOutput=journal+console, as haltfw-arm.service does on an
// appliance nobody reads the journal of. The native sd_journal_send() would
// lose that console copy.
#pragma once

#include <string>
#include <string_view>

namespace haltfw {

/// syslog(3) priorities, as journald records them.
enum class Priority { kErr = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

enum class Verbosity {
    kQuiet,    ///< errors, warnings and results only
    kNormal,   ///< plus progress and notices
    kVerbose,  ///< plus detail (kDebug)
};

/// Whether `fd` is the stream $JOURNAL_STREAM ("DEVICE:INODE", decimal)
/// describes. False for a null or malformed value, or an fd that is not open.
bool IsJournalStream(int fd, const char* journal_stream);

class Log {
public:
    struct Stream {
        int fd = -1;
        bool journal = false;  ///< Lines get the "<N>" priority prefix.
    };

    Log() = default;
    Log(Verbosity v, Stream out, Stream err) : verbosity_(v), out_(out), err_(err) {}
    /// Standard output and error, each checked against $JOURNAL_STREAM.
    static Log ForProcess(Verbosity v);

    /// A message of haltfw's own. On a terminal kErr and kWarning go to
    /// stderr with the "haltfw: " (and "warning: ") prefix, the rest to stdout.
    void Say(Priority p, std::string_view text) const;
    /// Lines that name their own source ("FILE:LINE: ...", nft's error
    /// messages): to stderr as they are, with no "haltfw: " prefix.
    void Detail(Priority p, std::string_view text) const;
    /// The verb's result: stdout, whatever the verbosity.
    void Result(std::string_view text, Priority p = Priority::kInfo) const;

    bool Shows(Priority p) const;
    bool verbose() const { return verbosity_ == Verbosity::kVerbose; }

private:
    void Write(const Stream& s, Priority p, std::string_view prefix, std::string_view text) const;

    Verbosity verbosity_ = Verbosity::kNormal;
    Stream out_{1, false};
    Stream err_{2, false};
};

}  // namespace haltfw
